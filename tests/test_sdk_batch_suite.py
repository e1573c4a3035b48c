"""The anthropic SDK's own Message Batches tests (``tests/api_resources/messages/test_batches.py`` of its sdist)
pass against the kit's loopback server.

They come from the sdist of the version uv.lock pins (``tests/sdk_tests_support.py``: downloaded once into
``.cache/``, its sha256 checked against the lock) and run unmodified, with the SDK's own ``tests/conftest.py``
and pytest settings, in a separate pytest process. The plugin ``tests/sdk_plugin/kit_loopback_batches.py``
starts the loopback server in that process on a free port, points ``TEST_API_BASE_URL`` at it, and puts the
batch the tests name in its store before each test. Every test the SDK's file holds must pass: none is
skipped or deselected (its async tests also run over aiohttp, the SDK's ``aiohttp`` extra, a test tool here).

Without network and with nothing cached, the test skips, saying why, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import anthropic
import pytest

import sdk_tests_support

HERE = Path(__file__).resolve().parent
PLUGIN = HERE / "sdk_plugin"
SDK_TESTS = "tests/api_resources/messages/test_batches.py"
sys.path.insert(0, str(PLUGIN))
import kit_loopback_batches as plugin  # noqa: E402

CLIENTS = {"TestBatches": {"loose", "strict", "False"}, "TestAsyncBatches": {"loose", "strict", "aiohttp", "False"}}
"""The clients each of the SDK's test classes runs with, by test id (``False``: the loose client, as its results
tests name it)."""


def _sdk_tests() -> Path:
    try:
        return sdk_tests_support.tests_folder()
    except sdk_tests_support.Unavailable as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{error} (CI has network to PyPI)")
        pytest.skip(f"{error}; the test needs the anthropic sdist from PyPI once (then it is cached in .cache/)")


def _environment(report: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "PYTEST_", "TEST_API_"))}
    env.update({
        "PYTHONPATH": os.pathsep.join([str(PLUGIN), str(sdk_tests_support.ROOT)]),
        "PYTHONDONTWRITEBYTECODE": "1",  # the cached copy stays as unpacked
        "KIT_SDK_REPORT": str(report),
    })
    return env


def _outcomes(junit: Path) -> dict[str, str]:
    """Each test's id (``Class::test[param]``) and how it ended: passed, failed, error or skipped."""
    outcomes = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        ended = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
        outcomes[f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"] = ended
    return outcomes


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    folder = _sdk_tests()
    out = tmp_path_factory.mktemp("sdk-batches")
    junit, report = out / "junit.xml", out / "report.json"
    command = [
        sys.executable, "-m", "pytest", SDK_TESTS,
        "-c", str(folder / "pyproject.toml"), "--rootdir", str(folder), "--confcutdir", str(folder),
        "-p", "kit_loopback_batches", "-p", "no:cacheprovider",
        "-n", "0",  # one process: the server and its store live in it (the SDK's settings say -n auto)
        "--junitxml", str(junit), "-q", "--no-header", "-rfEs",
    ]
    done = subprocess.run(command, cwd=folder, env=_environment(report), capture_output=True, text=True,
                          timeout=300)
    assert junit.exists(), f"the SDK's tests did not run:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return {"outcomes": _outcomes(junit), "report": json.loads(report.read_text(encoding="utf-8")),
            "output": done.stdout[-6000:], "returncode": done.returncode}


def test_every_sdk_batch_test_passes(run, record_property):
    outcomes = run["outcomes"]
    record_property("sdk_tests", json.dumps(outcomes))  # which of the SDK's tests ran, and how each ended
    passed = [test for test, ended in outcomes.items() if ended == "passed"]
    assert outcomes, f"no test of {SDK_TESTS} was collected:\n{run['output']}"
    assert len(passed) == len(outcomes), (
        f"{len(passed)} of the {len(outcomes)} tests of {SDK_TESTS} passed; not passed: "
        f"{ {t: e for t, e in outcomes.items() if e != 'passed'} }\n{run['output']}"
    )
    assert run["returncode"] == 0, run["output"]


def test_they_test_every_call_with_every_client(run):
    """What ran is the whole file: each call of the Batches API, by each of the SDK's clients."""
    seen = {(m["cls"], m["call"], m["client"]) for m in (
        re.fullmatch(r"(?P<cls>\w+)::test_\w+?_(?P<call>create|retrieve|list|delete|cancel|results)"
                     r"(?:_with_all_params)?\[(?P<client>\w+)\]", test)
        for test in run["outcomes"]) if m}
    for cls, clients in CLIENTS.items():
        for call in plugin.NEEDS:
            assert {c for k, n, c in seen if (k, n) == (cls, call)}, f"no {cls} test of {call!r} ran"
        assert {c for k, _, c in seen if k == cls} == clients, f"{cls} ran with other clients than {clients}"


def test_their_calls_reached_the_loopback_server(run):
    """The tests' batch was in the store in the state each call needs, and their create calls added batches."""
    report = run["report"]
    assert report["base_url"].startswith("http://127.0.0.1:")
    creates = [t for t in run["outcomes"] if re.search(r"::test_(method|raw_response|streaming_response)_create", t)]
    assert creates and report["created"] == len(creates), (
        f"{len(creates)} create tests ran, but the store holds {report['created']} batches they made"
    )
    for test, state in report["seeded"].items():
        call = plugin.CALL.fullmatch(test.rsplit("::", 1)[-1].split("[", 1)[0]).group(1)
        assert state == plugin.NEEDS[call], test
    cancels = [t for t in run["outcomes"] if "_cancel" in t and "path_params" not in t]
    assert cancels and all(any(s.endswith(t) for s in report["seeded"]) for t in cancels)


# -- the locked sdist ------------------------------------------------------------------------------------------------


def _archive_of(tmp_path: Path, files: dict[str, bytes], version: str = "9.9.9") -> sdk_tests_support.Sdist:
    path = tmp_path / "upstream.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"anthropic-{version}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return sdk_tests_support.Sdist(version, path.as_uri(), hashlib.sha256(path.read_bytes()).hexdigest())


def test_the_sdist_is_the_locked_version_of_the_installed_sdk():
    sdist = sdk_tests_support.locked()
    assert sdist.version == anthropic.__version__
    assert sdist.url.startswith("https://files.pythonhosted.org/") and sdist.url.endswith(f"-{sdist.version}.tar.gz")
    assert re.fullmatch(r"[0-9a-f]{64}", sdist.sha256)


def test_only_the_tests_and_the_pytest_settings_are_unpacked(tmp_path, monkeypatch):
    monkeypatch.setattr(sdk_tests_support, "CACHE", tmp_path / "cache")
    sdist = _archive_of(tmp_path, {"pyproject.toml": b"[tool.pytest.ini_options]\n", "tests/test_x.py": b"x = 1\n",
                                   "src/anthropic/__init__.py": b"", "tests.txt": b""})
    folder = sdk_tests_support.tests_folder(sdist)
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files == [sdk_tests_support.DONE, "pyproject.toml", "tests/test_x.py"]
    assert sdk_tests_support.tests_folder(sdist) == folder  # the second time, from the cache


def test_an_archive_whose_hash_is_not_the_locks_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(sdk_tests_support, "CACHE", tmp_path / "cache")
    sdist = _archive_of(tmp_path, {"tests/test_x.py": b"x = 1\n"})
    tampered = sdk_tests_support.Sdist(sdist.version, sdist.url, "0" * 64)
    with pytest.raises(AssertionError, match="but uv.lock says"):
        sdk_tests_support.tests_folder(tampered)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == []  # nothing kept, nothing unpacked
