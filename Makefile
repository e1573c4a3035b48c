SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PYTHON  := $(VENV)/bin/python
JUPYTER := $(CURDIR)/$(VENV)/bin/jupyter
CACHE   := $(CURDIR)/.cache

# Installs come from uv.lock, with a pinned uv (see README, "Dependencies").
UV_VERSION := 0.13.9
UV_HOME    := $(CACHE)/uv-$(UV_VERSION)
UV         := $(UV_HOME)/bin/uv
UV_ENV     := UV_PROJECT_ENVIRONMENT=$(CURDIR)/$(VENV) UV_PYTHON_DOWNLOADS=never
SYNC       := $(UV_ENV) $(UV) sync --frozen --quiet --python python3
# Left by each sync: a .venv whose marker is newer than uv.lock and pyproject.toml has nothing to download.
LAB_SYNCED  := $(VENV)/.kit-lab-synced
TEST_SYNCED := $(VENV)/.kit-test-synced
SITE_SYNCED := $(VENV)/.kit-site-synced
needs_sync   = $(shell [ -f $(1) ] && [ $(1) -nt uv.lock ] && [ $(1) -nt pyproject.toml ] || echo yes)

# Optional: `make lab PORT=8899`, `make serve PORT=9000`.
PORT ?=
# `make test` runs the tests in parallel, one pytest-xdist worker per core (TEST_WORKERS=0: in this process).
TEST_WORKERS ?= auto
# `make site JUPYTERHUB=https://hub.example.edu`: the lesson pages link to that hub (nbgitpuller).
JUPYTERHUB ?=
# Where `make lab` keeps the learner's own copies of the lessons (git-ignored).
WORKSPACE ?= workspace

# Jupyter refuses to start as root unless told to.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

# Keep kernel and Jupyter state inside the repo (git-ignored) instead of $HOME.
JUPYTER_DIRS := \
	IPYTHONDIR=$(CACHE)/ipython \
	JUPYTER_CONFIG_DIR=$(CACHE)/jupyter/config \
	JUPYTER_DATA_DIR=$(CACHE)/jupyter/data \
	JUPYTER_RUNTIME_DIR=$(CACHE)/jupyter/runtime

.PHONY: help lab test test-site test-colab site links lessons serve classroom bench upgrade check-upstream lab-env test-env site-env clean

help:
	@echo "make lab             set up .venv and open your copies of the lessons in JupyterLab (PORT=... optional)"
	@echo "make test            set up .venv with the test tools and run every test"
	@echo "make site            build the course site from the stored notebooks into site/_build/html (JUPYTERHUB=... optional)"
	@echo "make test-site       build the course site in a temporary folder and test its pages (CI runs it after make test)"
	@echo "make test-colab      run every lesson alone in an emulated Google Colab (its pins; never part of make test)"
	@echo "make links           put the Colab badge and the setup preamble in every shipped notebook"
	@echo "make lessons         re-execute every shipped notebook in place, offline"
	@echo "make serve           run the offline backend's loopback HTTP server (PORT, default 8765)"
	@echo "make classroom       run the classroom server on loopback (see README, \"Running a classroom\"; PORT, default 8780)"
	@echo "make bench           run the benchmarks in bench/ (they print ratios; see bench/README.md)"
	@echo "make upgrade         refresh uv.lock to the newest allowed versions, then run every test"
	@echo "make check-upstream  compare the model catalog with the newest anthropic SDK (never part of make test)"
	@echo "make clean           remove .venv, .cache, test artifacts and build leftovers"

$(UV):
	@echo "Installing uv $(UV_VERSION), the installer that reads uv.lock (a few seconds) ..."
	@python3 -m venv $(UV_HOME)
	@$(UV_HOME)/bin/pip install --quiet --quiet --disable-pip-version-check uv==$(UV_VERSION)

# A learner's install: what the lessons need and JupyterLab (the `lab` extra), exactly as locked.
lab-env: $(UV)
	@$(if $(call needs_sync,$(LAB_SYNCED)),echo "Setting up .venv from uv.lock (a new install downloads about 60 MB: a minute or two) ...")
	@$(SYNC) --inexact --extra lab
	@touch $(LAB_SYNCED)

# A developer's install: the same plus the test tools.
test-env: $(UV)
	@$(if $(call needs_sync,$(TEST_SYNCED)),echo "Setting up .venv from uv.lock with the test tools (a new install: a minute or two) ...")
	@$(SYNC) --extra lab --extra test
	@touch $(LAB_SYNCED) $(TEST_SYNCED)

# The course site's tools, added to .venv without taking the test tools away.
site-env: $(UV)
	@$(if $(call needs_sync,$(SITE_SYNCED)),echo "Adding the course site's tools (Sphinx, myst-nb, sphinx-book-theme) to .venv ...")
	@$(SYNC) --inexact --extra site
	@touch $(LAB_SYNCED) $(SITE_SYNCED)

lab: lab-env
	@$(PYTHON) -m helpers.lab_settings
	@$(PYTHON) -m helpers.workspace notebooks $(WORKSPACE)
	@echo "Opening JupyterLab on $(WORKSPACE)/ (your copies of the lessons). Stop it with Ctrl+C twice."
	@$(JUPYTER_DIRS) $(JUPYTER) lab $(WORKSPACE)/ $(if $(PORT),--port $(PORT)) $(ROOT_FLAG)

test: test-env
	@mkdir -p $(CACHE)
	$(JUPYTER_DIRS) $(PYTHON) -m pytest -n $(TEST_WORKERS)

site: site-env
	@KIT_SITE_JUPYTERHUB=$(JUPYTERHUB) $(PYTHON) tools/build_site.py --out site/_build

# Apart from `make test`: the whole site is built once, which takes longer than the suite's budget allows.
test-site: $(UV)
	@$(if $(call needs_sync,$(SITE_SYNCED)),echo "Setting up .venv from uv.lock with the test tools and the course site's tools ...")
	@$(SYNC) --extra lab --extra test --extra site
	@touch $(LAB_SYNCED) $(TEST_SYNCED) $(SITE_SYNCED)
	@mkdir -p $(CACHE)
	KIT_TEST_SITE=1 $(JUPYTER_DIRS) $(PYTHON) -m pytest -n 0 tests/test_site.py

# Google Colab emulated: its own versions in a venv of their own (remade only when requirements/colab-host.txt
# changes), every notebook run there alone after its setup cell installs the kit. Never part of `make test`.
COLAB_ENV    := $(CACHE)/colab-env
COLAB_PYTHON ?= $(firstword $(foreach p,python3.13 $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3,\
	$(if $(shell $(p) -c 'print(1)' 2>/dev/null),$(p))))
test-colab: test-env
	@if ! cmp -s requirements/colab-host.txt $(COLAB_ENV)/pins.txt; then \
		echo "Setting up $(COLAB_ENV) with Colab's versions on $$($(COLAB_PYTHON) -V) (a minute) ..." && \
		rm -rf $(COLAB_ENV) && $(COLAB_PYTHON) -m venv $(COLAB_ENV) && \
		$(COLAB_ENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/colab-host.txt && \
		cp requirements/colab-host.txt $(COLAB_ENV)/pins.txt; fi
	@$(UV_ENV) $(UV) export --frozen --quiet --no-hashes --no-emit-project --no-header --format requirements-txt \
		-o $(COLAB_ENV)/kit-lock.txt
	COLAB_ENV=$(COLAB_ENV) $(JUPYTER_DIRS) $(PYTHON) -m pytest -n 0 -p no:cacheprovider tests/colab/test_colab_host.py

# The Colab badge and the setup cell's preamble, made from [project.urls] Repository (tools/launch_links.py).
links:
	python3 tools/launch_links.py --write

# Streams are coalesced after running, so a print split by a busy machine is stored as one output.
lessons: test-env
	mkdir -p $(CACHE)
	cd notebooks && shopt -s nullglob && nbs=(*.ipynb solutions/*.ipynb) && \
	if (( $${#nbs[@]} )); then \
		KIT_MODE=offline $(JUPYTER_DIRS) $(JUPYTER) nbconvert --to notebook --execute --inplace --ExecutePreprocessor.store_widget_state=False --ExecutePreprocessor.record_timing=False \
			--NotebookExporter.preprocessors='["nbconvert.preprocessors.CoalesceStreamsPreprocessor"]' --CoalesceStreamsPreprocessor.enabled=True "$${nbs[@]}"; \
	else \
		echo "no notebooks to execute"; \
	fi

serve: lab-env
	$(PYTHON) -m helpers.offline --port $(or $(PORT),8765)

# The instructor's key comes from the environment or .env; without one it rehearses offline.
classroom: lab-env
	$(PYTHON) -m helpers.classroom serve $(if $(PORT),--port $(PORT))

bench: test-env
	for script in bench/bench_*.py; do $(PYTHON) $$script || exit 1; done

# Moves the lock on purpose: newest versions within pyproject.toml's bounds, then the whole suite on them.
upgrade: $(UV)
	$(UV_ENV) $(UV) lock --upgrade --python python3
	$(UV_ENV) $(UV) export --frozen --quiet --no-hashes --no-emit-project --no-header --extra lab --format requirements-txt -o requirements/lab.txt
	$(MAKE) test

# A look at the moving world: the newest SDK in a scratch environment, compared with the catalog.
check-upstream: $(UV)
	@rm -rf $(CACHE)/upstream
	@UV_PYTHON_DOWNLOADS=never $(UV) venv --quiet --seed --python python3 $(CACHE)/upstream
	@UV_PYTHON_DOWNLOADS=never $(UV) pip install --quiet --python $(CACHE)/upstream/bin/python --upgrade anthropic
	@# The wheel ships no CHANGELOG.md; the sdist of the same version does.
	@$(CACHE)/upstream/bin/python -m pip download --quiet --quiet --disable-pip-version-check --no-deps --no-binary :all: \
		-d $(CACHE)/upstream/sdist "anthropic==$$($(CACHE)/upstream/bin/python -c 'import anthropic; print(anthropic.__version__)')"
	@$(CACHE)/upstream/bin/python tools/check_upstream.py --catalog helpers/models.json --env-file .env \
		--lock uv.lock --sdist "$$(ls $(CACHE)/upstream/sdist/anthropic-*.tar.gz)"

clean:
	rm -rf $(VENV) .cache tests/artifacts site/_build *.egg-info
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
