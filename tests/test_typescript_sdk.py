"""A foreign client: the official TypeScript SDK (npm ``@anthropic-ai/sdk``) against the kit's loopback server.

``tests/typescript/contract.mjs`` runs the source guide's TypeScript example with today's default model,
a stream that opens with a thinking block, and the SDK's error classes. Its dependencies are locked in
``tests/typescript/package-lock.json``; ``npm ci`` installs them into ``tests/typescript/node_modules``
(git-ignored) when they are missing. Without node and npm the test skips, saying how to get them, except
under ``CI=true``, where ``.ci/run`` installs them from Debian and a missing node is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import DEFAULT_MODEL, catalog
from helpers.offline import running
from helpers.offline.wording import say

HERE = Path(__file__).resolve().parent / "typescript"
SDK = HERE / "node_modules" / "@anthropic-ai" / "sdk"
CHECKS = (
    "guide_example_reads_the_text_by_type",
    "stream_sends_the_thinking_block_first",
    "summarized_thinking_streams_thinking_deltas",
    "thinking_blocks_go_back_in_the_next_turn",
    "unknown_model_is_a_not_found_error",
    "prefill_is_a_bad_request_error",
    "forced_tool_use_is_refused_where_the_catalog_says",
    "model_info_has_capabilities",
    "a_batch_ends_and_its_results_match_by_custom_id",
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (under CI=true, .ci/run installs node and npm from Debian)")
    pytest.skip(reason)


def _tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        _unavailable("node and npm are not installed: `apt-get install nodejs npm` (Debian) to run this test")
    if not SDK.exists():
        installed = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True,
                                   timeout=300)
        if installed.returncode != 0:
            _unavailable(f"`npm ci` in tests/typescript failed: {installed.stderr.strip()[-500:]}")
    return node, npm


def _environment(base_url: str) -> dict[str, str]:
    refuses_forced = next(m for m in catalog.available() if not m.forced_tool_use)
    unknown = f"{DEFAULT_MODEL}-no-such-snapshot"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.update({
        "KIT_BASE_URL": base_url,
        "KIT_DEFAULT_MODEL": DEFAULT_MODEL,
        "KIT_UNKNOWN_MODEL": unknown,
        "KIT_NO_FORCED_TOOL_MODEL": refuses_forced.id,
        "KIT_DEFAULT_THINKING_TYPES": json.dumps(sorted(catalog.get(DEFAULT_MODEL).thinking.types), separators=(",", ":")),
        "KIT_EXPECTED": json.dumps({
            "model_not_found": say("model_not_found", model=unknown),
            "no_prefill": say("no_prefill"),
            "forced_tool_use_unsupported": say("forced_tool_use_unsupported"),
        }),
    })
    return env


@pytest.fixture(scope="module")
def results() -> dict:
    node, _ = _tools()
    with running() as base_url:
        run = subprocess.run([node, "contract.mjs"], cwd=HERE, env=_environment(base_url), capture_output=True,
                             text=True, timeout=120)
    assert run.returncode == 0, f"node failed:\n{run.stderr}"
    return json.loads(run.stdout)


@pytest.mark.parametrize("check", CHECKS)
def test_the_typescript_sdk_against_the_loopback_server(results, check):
    assert check in results, f"contract.mjs did not run {check!r}"
    assert results[check]["ok"], results[check]["detail"]


def test_every_check_of_the_script_is_listed(results):
    assert set(results) == set(CHECKS)
