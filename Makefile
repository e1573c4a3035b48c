SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PYTHON  := $(VENV)/bin/python
JUPYTER := $(CURDIR)/$(VENV)/bin/jupyter
STAMP   := $(VENV)/.installed
CACHE   := $(CURDIR)/.cache

# Optional: `make lab PORT=8899`, `make serve PORT=9000`.
PORT ?=

# Jupyter refuses to start as root unless told to.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

# Keep kernel and Jupyter state inside the repo (git-ignored) instead of $HOME.
JUPYTER_DIRS := \
	IPYTHONDIR=$(CACHE)/ipython \
	JUPYTER_CONFIG_DIR=$(CACHE)/jupyter/config \
	JUPYTER_DATA_DIR=$(CACHE)/jupyter/data \
	JUPYTER_RUNTIME_DIR=$(CACHE)/jupyter/runtime

.PHONY: help lab test lessons serve bench clean

help:
	@echo "make lab      set up .venv and open the lessons in JupyterLab (PORT=... optional)"
	@echo "make test     set up .venv and run every test"
	@echo "make lessons  re-execute every notebook in place, offline"
	@echo "make serve    run the offline backend's loopback HTTP server (PORT, default 8765)"
	@echo "make bench    run the benchmarks in bench/ (they print ratios; see bench/README.md)"
	@echo "make clean    remove .venv, .cache, test artifacts and build leftovers"

$(STAMP): pyproject.toml
	[ -x $(PYTHON) ] || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(VENV)/bin/pip install -e '.[test]'
	touch $@

lab: $(STAMP)
	$(JUPYTER) lab notebooks/ $(if $(PORT),--port $(PORT)) $(ROOT_FLAG)

test: $(STAMP)
	mkdir -p $(CACHE)
	$(JUPYTER_DIRS) $(PYTHON) -m pytest

lessons: $(STAMP)
	mkdir -p $(CACHE)
	cd notebooks && shopt -s nullglob && nbs=(*.ipynb solutions/*.ipynb) && \
	if (( $${#nbs[@]} )); then \
		KIT_MODE=offline $(JUPYTER_DIRS) $(JUPYTER) nbconvert --to notebook --execute --inplace --ExecutePreprocessor.store_widget_state=False --ExecutePreprocessor.record_timing=False "$${nbs[@]}"; \
	else \
		echo "no notebooks to execute"; \
	fi

serve: $(STAMP)
	$(PYTHON) -m helpers.offline --port $(or $(PORT),8765)

bench: $(STAMP)
	for script in bench/bench_*.py; do $(PYTHON) $$script || exit 1; done

clean:
	rm -rf $(VENV) .cache tests/artifacts *.egg-info
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
