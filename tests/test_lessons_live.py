"""Every lesson and solution runs unchanged in live mode, against the kit's loopback server.

The kernel gets a sentinel key and ``ANTHROPIC_BASE_URL``, exactly as a learner with a
key would have (the real API is never called). The sentinel must appear in no output.
"""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.offline import running
from notebooks_support import ALL, RAISES_MARKER, output_text, source

SENTINEL_KEY = "kit-live-sentinel-7c1e4b2a"


@pytest.fixture(scope="module")
def live_environment():
    saved = dict(os.environ)
    with running() as base_url:
        os.environ.pop("KIT_MODE", None)
        os.environ["ANTHROPIC_API_KEY"] = SENTINEL_KEY
        os.environ["ANTHROPIC_AUTH_TOKEN"] = ""
        os.environ["ANTHROPIC_BASE_URL"] = base_url
        try:
            yield base_url
        finally:
            os.environ.clear()
            os.environ.update(saved)


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_runs_live_against_the_loopback_server(path, live_environment):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [(cell, o) for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    texts = [output_text(o) for _, o in outputs]
    assert any(t.startswith("Live mode") for t in texts), "the setup cell should report live mode"
    assert not any(SENTINEL_KEY in t for t in texts), "the key appeared in an output"
    for cell, output in outputs:
        if output.output_type == "error":
            assert RAISES_MARKER in source(cell), f"{output.ename}: {output.evalue}\nin cell:\n{source(cell)}"
    if path.parent.name == "solutions":
        assert not any(t.startswith("❌ Not yet") for t in texts), "a solution fails its grader in live mode"
