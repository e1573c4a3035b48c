"""helpers.connect()/aconnect(): mode choice, the one-line banner, keys kept secret, the SDK's own client."""

from __future__ import annotations

import asyncio
import os

import anthropic
import pytest

from helpers import DEFAULT_MODEL, SetupError, aconnect, connect
from helpers.offline import OfflineTransport, running

SENTINEL_KEY = "kit-sentinel-key-5f2a9c"
HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture(autouse=True)
def clean_env(tmp_path, monkeypatch):
    """No key, no mode, no base URL, and a working directory with no .env; restored afterwards."""
    saved = dict(os.environ)
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "KIT_MODE", "ANTHROPIC_BASE_URL"):
        os.environ.pop(name, None)
    workdir = tmp_path / "project" / "notebooks"
    workdir.mkdir(parents=True)
    monkeypatch.chdir(workdir)
    yield workdir
    os.environ.clear()
    os.environ.update(saved)


def _transport(client):
    """The transport behind the usage log's recording wrapper."""
    return client._client._transport.inner


def test_no_key_means_offline_with_the_sdks_own_client(capsys):
    client = connect()
    assert type(client) is anthropic.Anthropic
    assert isinstance(_transport(client), OfflineTransport)
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith("Offline mode") and "not Claude" in out


def test_offline_client_answers_through_the_sdk():
    message = connect(quiet=True).messages.create(model=DEFAULT_MODEL, max_tokens=50, messages=HELLO)
    assert isinstance(message, anthropic.types.Message)
    assert message.stop_reason in ("end_turn", "max_tokens")


def test_key_in_environment_means_live_and_is_never_printed(capsys):
    os.environ["ANTHROPIC_API_KEY"] = SENTINEL_KEY
    client = connect()
    assert type(client) is anthropic.Anthropic
    assert not isinstance(_transport(client), OfflineTransport)
    assert client.api_key == SENTINEL_KEY
    out = capsys.readouterr().out
    assert out.startswith("Live mode") and "environment" in out
    assert SENTINEL_KEY not in out and SENTINEL_KEY[-6:] not in out


def test_auth_token_also_means_live():
    os.environ["ANTHROPIC_AUTH_TOKEN"] = SENTINEL_KEY
    assert not isinstance(_transport(connect(quiet=True)), OfflineTransport)


def test_key_in_dotenv_above_the_working_directory(clean_env, capsys):
    (clean_env.parent / ".env").write_text(f"ANTHROPIC_API_KEY={SENTINEL_KEY}\n")
    client = connect()
    assert client.api_key == SENTINEL_KEY
    out = capsys.readouterr().out
    assert ".env" in out and SENTINEL_KEY not in out


def test_dotenv_never_overrides_a_variable_already_set(clean_env):
    (clean_env.parent / ".env").write_text("ANTHROPIC_API_KEY=from-dotenv\n")
    os.environ["ANTHROPIC_API_KEY"] = SENTINEL_KEY
    assert connect(quiet=True).api_key == SENTINEL_KEY


def test_kit_mode_offline_wins_over_a_key():
    os.environ["ANTHROPIC_API_KEY"] = SENTINEL_KEY
    os.environ["KIT_MODE"] = "offline"
    assert isinstance(_transport(connect(quiet=True)), OfflineTransport)


def test_kit_mode_in_dotenv_is_honoured(clean_env):
    (clean_env.parent / ".env").write_text(f"ANTHROPIC_API_KEY={SENTINEL_KEY}\nKIT_MODE=offline\n")
    assert isinstance(_transport(connect(quiet=True)), OfflineTransport)


def test_mode_argument_wins_over_kit_mode():
    os.environ["KIT_MODE"] = "live"
    assert isinstance(_transport(connect("offline", quiet=True)), OfflineTransport)


def test_live_without_a_key_says_how_to_add_one():
    os.environ["KIT_MODE"] = "live"
    with pytest.raises(SetupError, match=r"\.env.*ANTHROPIC_API_KEY=.*offline"):
        connect()


def test_unknown_mode_lists_the_valid_ones():
    with pytest.raises(SetupError, match="live, offline"):
        connect("online")
    os.environ["KIT_MODE"] = "demo"
    with pytest.raises(SetupError, match="KIT_MODE is 'demo'.*live, offline"):
        connect()


def test_quiet_prints_nothing(capsys):
    connect(quiet=True)
    assert capsys.readouterr().out == ""


def test_client_options_reach_the_sdk_client():
    client = connect("offline", quiet=True, max_retries=5, timeout=12.5)
    assert client.max_retries == 5
    assert client.timeout == 12.5


def test_aconnect_returns_the_async_client_and_it_works_offline(capsys):
    client = aconnect()
    assert type(client) is anthropic.AsyncAnthropic
    assert "Offline mode" in capsys.readouterr().out
    message = asyncio.run(client.messages.create(model=DEFAULT_MODEL, max_tokens=50, messages=HELLO))
    assert [block.type for block in message.content] == ["thinking", "text"]  # the default model thinks first


def test_aconnect_live_without_key_fails_like_connect():
    with pytest.raises(SetupError):
        aconnect("live")


def test_live_mode_honours_anthropic_base_url(capsys):
    with running() as base_url:
        os.environ["ANTHROPIC_API_KEY"] = SENTINEL_KEY
        os.environ["ANTHROPIC_BASE_URL"] = base_url
        client = connect(max_retries=0)
        message = client.messages.create(model=DEFAULT_MODEL, max_tokens=50, messages=HELLO)
        asynchronous = aconnect(quiet=True, max_retries=0)
        again = asyncio.run(asynchronous.messages.create(model=DEFAULT_MODEL, max_tokens=50, messages=HELLO))
    assert base_url in capsys.readouterr().out
    assert message.content == again.content
    assert message._request_id.startswith("req_")


def test_an_explicit_key_means_live_and_is_never_printed(capsys):
    with running() as base_url:
        os.environ["ANTHROPIC_BASE_URL"] = base_url
        client = connect("live", api_key=SENTINEL_KEY, max_retries=0)
        message = client.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=HELLO)
        automatic = aconnect(api_key=SENTINEL_KEY, max_retries=0)
        again = asyncio.run(automatic.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=HELLO))
    assert client.api_key == automatic.api_key == SENTINEL_KEY
    assert not isinstance(_transport(client), OfflineTransport) and message.content == again.content
    out = capsys.readouterr().out
    assert out.count("with the API key passed to connect()") == 2 and SENTINEL_KEY not in out


def test_a_dotenv_above_that_switches_to_live_is_named_plainly(clean_env, capsys):
    dotenv = clean_env.parent / ".env"
    dotenv.write_text(f"ANTHROPIC_API_KEY={SENTINEL_KEY}\nKIT_MODE=live\n")
    connect()
    out = capsys.readouterr().out
    assert f"with the API key from {dotenv}, a .env file in a folder above the working directory ({clean_env})" in out
    assert f"KIT_MODE=live is also set in {dotenv}" in out and "connect('offline')" in out
    assert SENTINEL_KEY not in out


def test_live_asked_by_a_dotenv_without_a_key_says_where(clean_env):
    dotenv = clean_env.parent / ".env"
    dotenv.write_text("KIT_MODE=live\n")
    with pytest.raises(SetupError, match=rf"none is set \(KIT_MODE=live is set in {dotenv}\).*set_api_key\(\)"):
        connect()


@pytest.fixture(autouse=True)
def no_colab_left_behind():
    """A fake ``google.colab`` imported by a test must not stay in ``sys.modules`` for the tests after it."""
    import sys

    before = {n for n in sys.modules if n == "google" or n.startswith("google.")}
    yield
    for name in [n for n in sys.modules if (n == "google" or n.startswith("google.")) and n not in before]:
        del sys.modules[name]


def _fake_colab(monkeypatch, tmp_path, secrets: dict, *, access: bool = True):
    """A ``google.colab.userdata`` as Colab has it: ``get`` raises for a missing secret, or without access."""
    package = tmp_path / "fake_colab" / "google" / "colab"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "userdata.py").write_text(
        "class SecretNotFoundError(Exception): pass\n"
        "class NotebookAccessError(Exception): pass\n"
        f"_SECRETS = {secrets!r}\n_ACCESS = {access!r}\n"
        "def get(key):\n"
        "    if not _ACCESS: raise NotebookAccessError(key)\n"
        "    if key not in _SECRETS: raise SecretNotFoundError(key)\n"
        "    return _SECRETS[key]\n")
    monkeypatch.syspath_prepend(str(tmp_path / "fake_colab"))
    for name in [n for n in list(__import__("sys").modules) if n == "google" or n.startswith("google.")]:
        monkeypatch.delitem(__import__("sys").modules, name)


def test_a_key_in_colab_secrets_means_live_and_is_never_printed(monkeypatch, tmp_path, capsys):
    _fake_colab(monkeypatch, tmp_path, {"ANTHROPIC_API_KEY": SENTINEL_KEY})
    client = connect()
    assert client.api_key == SENTINEL_KEY and not isinstance(_transport(client), OfflineTransport)
    out = capsys.readouterr().out
    assert out.startswith("Live mode") and "Colab's Secrets" in out and SENTINEL_KEY not in out


@pytest.mark.parametrize("secrets,access", [({}, True), ({"ANTHROPIC_API_KEY": SENTINEL_KEY}, False)])
def test_without_a_colab_secret_or_access_to_it_the_kit_stays_offline(monkeypatch, tmp_path, capsys, secrets, access):
    _fake_colab(monkeypatch, tmp_path, secrets, access=access)
    client = connect()
    assert isinstance(_transport(client), OfflineTransport)
    assert capsys.readouterr().out.startswith("Offline mode")


def test_the_environment_and_dotenv_come_before_colab_secrets(monkeypatch, tmp_path, capsys, clean_env):
    _fake_colab(monkeypatch, tmp_path, {"ANTHROPIC_API_KEY": "kit-colab-key-not-this-one"})
    (clean_env.parent / ".env").write_text(f"ANTHROPIC_API_KEY={SENTINEL_KEY}\n")
    assert connect().api_key == SENTINEL_KEY and ".env" in capsys.readouterr().out


def _prompt(monkeypatch, answer: str) -> list:
    asked = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or answer)
    return asked


def test_ask_key_prompts_only_when_told_and_only_where_no_key_was_found(monkeypatch, capsys):
    asked = _prompt(monkeypatch, f"  {SENTINEL_KEY}\n")
    assert isinstance(_transport(connect()), OfflineTransport) and asked == []
    client = connect(ask_key=True)
    assert client.api_key == SENTINEL_KEY and len(asked) == 1 and "hidden" in asked[0]
    out = capsys.readouterr().out
    assert "typed at the prompt" in out and "not saved" in out and SENTINEL_KEY not in out
    connect(ask_key=True)  # the typed key now stands in this kernel's environment: no second prompt
    assert len(asked) == 1


def test_ask_key_comes_after_colab_secrets_and_never_runs_offline(monkeypatch, tmp_path, capsys):
    asked = _prompt(monkeypatch, "kit-typed-key-not-this-one")
    assert isinstance(_transport(connect("offline", ask_key=True)), OfflineTransport) and asked == []
    _fake_colab(monkeypatch, tmp_path, {"ANTHROPIC_API_KEY": SENTINEL_KEY})
    assert connect(ask_key=True).api_key == SENTINEL_KEY and asked == []


def test_an_empty_answer_at_the_prompt_leaves_the_kit_offline_or_says_how_to_add_a_key(monkeypatch, capsys):
    _prompt(monkeypatch, "   ")
    assert isinstance(_transport(connect(ask_key=True)), OfflineTransport)
    with pytest.raises(SetupError, match="ask_key=True"):
        connect("live", ask_key=True)


def test_on_colab_the_banner_says_where_the_key_goes_and_that_saved_files_vanish(monkeypatch, tmp_path, capsys):
    connect()
    assert "Colab" not in capsys.readouterr().out
    _fake_colab(monkeypatch, tmp_path, {})
    connect()
    offline = capsys.readouterr().out
    assert "Colab's Secrets panel" in offline and "/content" in offline and "emptied" in offline
    _fake_colab(monkeypatch, tmp_path / "with-secret", {"ANTHROPIC_API_KEY": SENTINEL_KEY})
    connect()
    live = capsys.readouterr().out
    assert live.startswith("Live mode") and "/content" in live and SENTINEL_KEY not in live


def test_a_classroom_address_in_colab_secrets_goes_with_the_token_from_there(monkeypatch, tmp_path, capsys):
    with running() as base_url:
        _fake_colab(monkeypatch, tmp_path, {"ANTHROPIC_API_KEY": SENTINEL_KEY, "ANTHROPIC_BASE_URL": base_url})
        client = connect()
        assert str(client.base_url).rstrip("/") == base_url.rstrip("/")
        assert client.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=HELLO).content
    assert base_url in capsys.readouterr().out
