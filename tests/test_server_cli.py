"""`python -m helpers.offline --port N` serves curl and the SDK over real HTTP."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import anthropic
import pytest

from helpers import DEFAULT_MODEL


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served():
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "helpers.offline", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"{url}/v1/models", timeout=1)
        except urllib.error.HTTPError:
            break  # it answered (401: no key), so it is up
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("the server did not start:\n" + (process.stdout.read() or ""))
            time.sleep(0.1)
    yield url, process
    process.terminate()
    process.wait(timeout=10)


def test_banner_says_what_it_is(served):
    url, process = served
    first_line = process.stdout.readline()
    assert url in first_line and "not Claude" in first_line


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_gets_a_message(served):
    url, _ = served
    body = json.dumps({"model": DEFAULT_MODEL, "max_tokens": 30, "messages": [{"role": "user", "content": "Hello"}]})
    result = subprocess.run(
        ["curl", "-s", "-i", f"{url}/v1/messages", "-H", "authorization: Bearer any-non-empty-key",
         "-H", "anthropic-version: 2026-10-21", "-H", "content-type: application/json", "-d", body],
        capture_output=True, text=True, timeout=30, check=True,
    )
    head, _, payload = result.stdout.partition("\n\n")  # text mode turned CRLF into LF
    message = json.loads(payload)
    assert head.startswith("HTTP/1.1 200")
    assert "\nrequest-id: req_" in head.lower()
    assert message["type"] == "message" and message["usage"]["output_tokens"] <= 30


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_without_a_key_gets_401(served):
    url, _ = served
    result = subprocess.run(["curl", "-s", f"{url}/v1/messages", "-H", "anthropic-version: 2026-10-21", "-d", "{}"],
                            capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(result.stdout)["error"]["type"] == "authentication_error"


def test_the_sdk_streams_from_it(served):
    url, _ = served
    client = anthropic.Anthropic(api_key="kit-cli-test-key", base_url=url, max_retries=0)
    with client.messages.stream(model=DEFAULT_MODEL, max_tokens=40, messages=[{"role": "user", "content": "Hello"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "".join(b.text for b in final.content if b.type == "text") and final.usage.output_tokens > 0


# -- where it listens: loopback unless --expose (checked in process: nothing ever listens beyond loopback) ----------


def _no_serving(*args, **kwargs):
    raise AssertionError("started serving")


def _cli(monkeypatch, serve):
    from helpers.offline import __main__ as cli  # noqa: PLC0415
    from helpers.offline import server  # noqa: PLC0415

    monkeypatch.setattr(server, "serve", serve)
    monkeypatch.setattr(cli, "serve", serve, raising=False)
    return cli.main


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "my-laptop.example"])
def test_a_host_beyond_loopback_is_refused_without_expose(monkeypatch, capsys, host):
    main = _cli(monkeypatch, _no_serving)
    with pytest.raises(SystemExit) as info:
        main(["--host", host])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert host in err and "not a loopback address" in err and "--expose" in err


def test_expose_serves_and_says_what_is_exposed(monkeypatch, capsys):
    calls = []
    main = _cli(monkeypatch, lambda *args, **kwargs: calls.append((args, kwargs)))
    main(["--host", "0.0.0.0", "--port", "9876", "--expose"])
    out = capsys.readouterr()
    assert calls == [(("0.0.0.0", 9876), {"expose": True})]
    assert "http://0.0.0.0:9876" in out.out
    assert out.err.startswith("WARNING: listening on every network interface of this machine (port 9876)")
    assert "any non-empty API key" in out.err


@pytest.mark.parametrize(("host", "url"), [("::1", "http://[::1]:8765"), ("127.0.0.1", "http://127.0.0.1:8765"),
                                           ("localhost", "http://localhost:8765")])
def test_loopback_hosts_need_no_flag_and_get_no_warning(monkeypatch, capsys, host, url):
    calls = []
    main = _cli(monkeypatch, lambda *args, **kwargs: calls.append(args))
    main(["--host", host, "--port", "8765"])
    out = capsys.readouterr()
    assert calls == [(host, 8765)]
    assert f"on {url} (" in out.out and out.err == ""
