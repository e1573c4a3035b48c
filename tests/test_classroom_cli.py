"""``python -m helpers.classroom``: the roster's hand-outs work as they are (an env file that ``connect()``
reads, the README's JupyterHub snippet on a roster file), a running server takes top-ups from another
process, a room needs ``--expose``, and the README's TLS recipe serves https."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import anthropic
import pytest

from classroom_support import HI, MODEL, add_learners, classroom
from helpers.classroom.__main__ import exposure_notes, main
from helpers.offline import fault_injection

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _cli(*args: str, db: Path, env: dict | None = None, process: bool = False) -> subprocess.CompletedProcess:
    """The command's exit code and output; in this process unless ``process`` (a separate program, as an
    instructor's second terminal is)."""
    argv = ["--db", str(db), *args]
    if process:
        return subprocess.run([sys.executable, "-m", "helpers.classroom", *argv], cwd=db.parent,
                              env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                              capture_output=True, text=True, timeout=120)
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
            if isinstance(exit_.code, str):
                err.write(exit_.code)
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_roster_add_prints_tokens_and_writes_private_env_files_and_a_hub_roster(tmp_path):
    db = tmp_path / "room.db"
    done = _cli("roster", "add", "alice", "bob", "--count", "2", "--usd", "2", "--url", "http://10.0.0.5:8780",
                "--env-dir", str(tmp_path / "tokens"), "--hub-file", str(tmp_path / "hub.json"), db=db)
    assert done.returncode == 0, done.stderr
    printed = dict(re.findall(r"^\s+(\S+)\s+ANTHROPIC_API_KEY=(clsrm-\d+-\S+)$", done.stdout, re.MULTILINE))
    assert list(printed) == ["alice", "bob", "learner-01", "learner-02"]
    assert "ANTHROPIC_BASE_URL=http://10.0.0.5:8780" in done.stdout
    alice_env = (tmp_path / "tokens" / "alice.env").read_text()
    assert f"ANTHROPIC_API_KEY={printed['alice']}\n" in alice_env and "ANTHROPIC_BASE_URL=http://10.0.0.5:8780" in alice_env
    for private in (tmp_path / "tokens" / "alice.env", tmp_path / "hub.json", db):
        assert private.stat().st_mode & 0o077 == 0
    listed = _cli("roster", "list", db=db)
    assert "alice: 0 calls, $0.0000 of $2.00" in listed.stdout and printed["alice"] not in listed.stdout
    again = _cli("roster", "add", "alice", db=db)
    assert again.returncode != 0 and "already on the roster" in again.stderr and "reissue" in again.stderr
    assert _cli("roster", "add", "<b>x</b>", db=db).returncode != 0


def test_connect_reads_a_learners_env_file_and_runs_live_through_the_classroom(tmp_path, monkeypatch, capsys):
    from helpers import connect

    with classroom(tmp_path / "room.db") as room:
        db_copy_dir = tmp_path / "learner"
        db_copy_dir.mkdir()
        done = _cli("roster", "add", "alice", "--url", room.url, "--env-dir", str(tmp_path / "tokens"),
                    db=tmp_path / "room.db")
        assert done.returncode == 0, done.stderr
        shutil.copy(tmp_path / "tokens" / "alice.env", db_copy_dir / ".env")
        for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "KIT_MODE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.chdir(db_copy_dir)
        learner = connect()
        assert f"Live mode: requests go to {room.url}" in capsys.readouterr().out
        message = learner.messages.create(model=MODEL, max_tokens=300, messages=HI)
        assert any(block.type == "text" for block in message.content)
        assert room.store.learners()[0].calls == 1


def test_a_top_up_from_another_process_reaches_the_running_server(tmp_path):
    db = tmp_path / "room.db"
    with classroom(db) as room:
        tokens = add_learners(room, ["ann"], usd=0.0002)
        learner = anthropic.Anthropic(api_key=tokens["ann"], base_url=room.url, max_retries=0)
        with pytest.raises(anthropic.PaymentRequiredError):
            learner.messages.create(model=MODEL, max_tokens=1000, messages=HI)
        done = _cli("topup", "ann", "--usd", "0.01", db=db, process=True)
        assert done.returncode == 0 and "Topped up 1 learners" in done.stdout
        learner.messages.create(model=MODEL, max_tokens=1000, messages=HI)
        assert _cli("topup", "zed", "--usd", "1", db=db).returncode != 0


def test_the_readme_jupyterhub_snippet_gives_each_user_their_token(tmp_path):
    done = _cli("roster", "add", "alice", "bob", "--url", "http://127.0.0.1:8780", "--hub-file",
                str(tmp_path / "hub.json"), db=tmp_path / "room.db")
    tokens = dict(re.findall(r"^\s+(\S+)\s+ANTHROPIC_API_KEY=(\S+)$", done.stdout, re.MULTILINE))
    snippet = README.split("<!-- classroom-jupyterhub-snippet -->\n```python\n", 1)[1].split("```", 1)[0]
    snippet = snippet.replace('Path("/srv/classroom/hub.json")', f"Path({str(tmp_path / 'hub.json')!r})")
    config = SimpleNamespace(Spawner=SimpleNamespace())
    exec(compile(snippet, "jupyterhub_config.py", "exec"), {"c": config})  # noqa: S102 - the README's own snippet

    def spawn(user: str) -> dict:
        spawner = SimpleNamespace(user=SimpleNamespace(name=user), environment={"JUPYTERHUB_USER": user})
        config.Spawner.pre_spawn_hook(spawner)
        return spawner.environment

    assert spawn("alice") == {"JUPYTERHUB_USER": "alice", "ANTHROPIC_API_KEY": tokens["alice"],
                              "ANTHROPIC_BASE_URL": "http://127.0.0.1:8780"}
    assert spawn("bob")["ANTHROPIC_API_KEY"] == tokens["bob"]
    with pytest.raises(RuntimeError, match="carol has no classroom token"):
        spawn("carol")
    # Learners added later are picked up at their next spawn, without restarting the hub.
    _cli("roster", "add", "carol", "--url", "http://127.0.0.1:8780", "--hub-file", str(tmp_path / "hub.json"),
         db=tmp_path / "room.db")
    assert spawn("carol")["ANTHROPIC_API_KEY"].startswith("clsrm-3-")


def test_a_room_needs_expose_and_is_told_what_is_exposed(tmp_path):
    refused = _cli("serve", "--host", "0.0.0.0", db=tmp_path / "room.db", process=True)
    assert refused.returncode != 0 and "--expose" in refused.stderr
    assert not (tmp_path / "room.db").exists()  # refused before anything was opened
    notes = exposure_notes("0.0.0.0", 8780, tls=False)
    assert "every network interface" in notes and "plain HTTP" in notes and "/v1/messages" in notes
    assert "plain HTTP" not in exposure_notes("192.168.1.20", 8780, tls=True)


def test_the_readme_tls_recipe_serves_https(tmp_path, monkeypatch):
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    recipe = README.split("openssl req", 1)[1].split("\n.venv", 1)[0]
    assert "-x509" in recipe and "-nodes" in recipe
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", "key.pem", "-out", "cert.pem"],
                   cwd=tmp_path, check=True, capture_output=True)
    db, port = tmp_path / "room.db", _free_port()
    done = _cli("roster", "add", "ann", db=db)
    token = re.search(r"ANTHROPIC_API_KEY=(\S+)", done.stdout).group(1)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ANTHROPIC_API_KEY": "", "ANTHROPIC_AUTH_TOKEN": ""}
    server = subprocess.Popen([sys.executable, "-m", "helpers.classroom", "--db", str(db), "serve", "--port", str(port),
                               "--certfile", "cert.pem", "--keyfile", "key.pem"], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))  # as the recipe tells learners
        learner = anthropic.Anthropic(api_key=token, base_url=f"https://127.0.0.1:{port}", max_retries=0)
        deadline = time.monotonic() + 60
        while True:
            try:
                message = learner.messages.create(model=MODEL, max_tokens=300, messages=HI)
                break
            except anthropic.APIConnectionError:
                assert time.monotonic() < deadline and server.poll() is None, "the https server did not come up"
                time.sleep(0.3)
        assert any(block.type == "text" for block in message.content)
        plain = anthropic.Anthropic(api_key=token, base_url=f"http://127.0.0.1:{port}", max_retries=0)
        with pytest.raises(anthropic.APIConnectionError):
            plain.messages.create(model=MODEL, max_tokens=32, messages=HI)
        learner.close()  # a TLS connection left open delays the server's shutdown (asyncio's 30 s SSL shutdown)
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=60)
    assert f"https://127.0.0.1:{port}/classroom/#token=" in out


def _refused_once(learner: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.PaymentRequiredError):
        learner.messages.create(model=MODEL, max_tokens=1000, messages=HI)


def test_status_flags_a_learner_refused_for_budget_with_the_fix_until_a_budget_change(tmp_path):
    db = tmp_path / "room.db"
    with classroom(db) as room:
        tokens = add_learners(room, ["ann", "bob"], usd=0.0002)
        ann = anthropic.Anthropic(api_key=tokens["ann"], base_url=room.url, max_retries=0)
        _refused_once(ann)
        _refused_once(ann)
        status = _cli("status", db=db, process=True).stdout
        ann_line = next(line for line in status.splitlines() if line.startswith("ann:"))
        bob_line = next(line for line in status.splitlines() if line.startswith("bob:"))
        assert "out of budget: 2 calls refused (fix: python -m helpers.classroom topup ann --usd X)" in ann_line
        assert "out of budget" not in bob_line
        _cli("topup", "ann", "--usd", "0.01", db=db, process=True)
        assert "out of budget" not in _cli("status", db=db, process=True).stdout  # answered: no longer flagged
        ann.messages.create(model=MODEL, max_tokens=1000, messages=HI)
        # The class cap is not the learner's budget: it is not their flag (`cap` raises it).
        _cli("cap", "--usd", "0.000001", db=db, process=True)
        _refused_once(ann)
        assert "out of budget" not in _cli("status", db=db, process=True).stdout


def test_status_splits_the_errors_lessons_cause_from_problems(tmp_path):
    db = tmp_path / "room.db"
    with classroom(db) as room:
        tokens = add_learners(room, ["ann"])
        ann = anthropic.Anthropic(api_key=tokens["ann"], base_url=room.url, max_retries=0)
        with pytest.raises(anthropic.BadRequestError):
            ann.messages.create(model=MODEL, max_tokens=16, messages=[])
        with pytest.raises(anthropic.NotFoundError):
            ann.messages.create(model="no-such-model", max_tokens=16, messages=HI)
        with fault_injection.faults("overloaded"):
            with pytest.raises(anthropic.InternalServerError):
                ann.messages.create(model=MODEL, max_tokens=16, messages=HI)
    assert "2 lesson errors, 1 problem; last error: HTTP 529 overloaded_error" in _cli("status", db=db).stdout


def test_roster_list_writes_amounts_as_the_dashboard_does(tmp_path):
    db = tmp_path / "room.db"
    assert _cli("roster", "add", "ann", "--usd", "0.02", db=db).returncode == 0
    assert _cli("roster", "add", "bob", "--usd", "12.5", db=db).returncode == 0
    listed = _cli("roster", "list", db=db).stdout
    # Under a dollar the dashboard writes 4 decimals: a 2-cent budget is $0.0200, not $0.02.
    assert "ann: 0 calls, $0.0000 of $0.0200" in listed and "bob: 0 calls, $0.0000 of $12.50" in listed


def test_budget_sets_an_amount_lower_or_higher_that_the_running_server_uses_at_once(tmp_path):
    db = tmp_path / "room.db"
    with classroom(db) as room:
        tokens = add_learners(room, ["ann", "bob"], usd=1.0)
        ann = anthropic.Anthropic(api_key=tokens["ann"], base_url=room.url, max_retries=0)
        ann.messages.create(model=MODEL, max_tokens=300, messages=HI)
        lowered = _cli("budget", "ann", "--usd", "0", db=db, process=True)
        assert lowered.returncode == 0, lowered.stderr
        assert "Set the budget of 1 learners" in lowered.stdout
        assert re.search(r"^ann is now over budget \(\$0\.\d{4} spent of \$0\.0000\)", lowered.stdout, re.MULTILINE)
        _refused_once(ann)  # the running server's next call sees the lower budget
        raised = _cli("budget", "--all", "--usd", "0.5", "--tokens", "100000", db=db, process=True)
        assert raised.returncode == 0 and "over budget" not in raised.stdout
        listed = _cli("roster", "list", db=db, process=True).stdout
        assert re.search(r"^ann: 2 calls, \$0\.\d{4} of \$0\.5000, ", listed, re.MULTILINE)
        ann.messages.create(model=MODEL, max_tokens=300, messages=HI)
        tokens_only = _cli("budget", "bob", "--tokens", "0", db=db, process=True)
        assert "bob has no budget left (0 tokens used of 0)" in tokens_only.stdout
    for wrong in (["ann", "--usd", "-1"], ["ann", "--tokens", "-5"]):
        refused = _cli("budget", *wrong, db=db)
        assert refused.returncode != 0 and "cannot be negative" in refused.stderr
    assert _cli("budget", "zed", "--usd", "1", db=db).returncode != 0
    assert "not on the roster: zed" in _cli("budget", "zed", "--usd", "1", db=db).stderr
    assert _cli("budget", "ann", db=db).returncode != 0  # no amount
    assert "| `budget NAME... --usd X`" in README  # documented with the other roster commands
