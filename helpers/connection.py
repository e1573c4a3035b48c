"""``connect()`` and ``aconnect()``: the SDK's own client, live or offline.

Live mode is the plain ``anthropic.Anthropic`` with a key passed as ``api_key=``
(or ``auth_token=``), or read from the environment or a ``.env`` file (the nearest
one at or above the working directory; the banner names it). Offline mode is the
same class with the kit's offline backend behind its HTTP layer: nothing else changes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import anthropic
import httpx2
from dotenv import find_dotenv, load_dotenv

from . import error_display
from .budget import BudgetGuard, TransportGuard
from .colab import FILES_NOTE as COLAB_FILES_NOTE
from .colab import on_colab
from .offline.transport import OfflineTransport
from .usage import RecordingTransport

MODES = ("live", "offline")
KEY_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
KEY_OPTIONS = ("api_key", "auth_token")
OFFLINE_BASE_URL = "http://offline.localhost"
OFFLINE_KEY = "offline-no-key-needed"
"""Sent to the in-process backend only; it is not a credential."""


class SetupError(ValueError):
    """The kit cannot start in the requested mode; the message says how to fix it."""


def _key_in_environment() -> bool:
    return any(os.environ.get(name) for name in KEY_VARIABLES)


def _load_dotenv() -> Optional[Path]:
    """Load ``.env`` from the working directory upward, never overriding variables already set."""
    found = find_dotenv(usecwd=True)
    if not found:
        return None
    load_dotenv(found, override=False)
    return Path(found)


def _colab_secret(*names: str) -> Optional[str]:
    """The first of these secrets in Google Colab's Secrets panel (``google.colab.userdata``), which is not in
    ``os.environ``; None outside Colab, or when no such secret exists or the notebook was not given access to it."""
    if not on_colab():
        return None
    try:
        from google.colab import userdata  # noqa: PLC0415 - exists on Colab only
    except ImportError:
        return None
    for name in names:
        try:
            value = (userdata.get(name) or "").strip()
        except Exception:  # noqa: BLE001 - SecretNotFoundError, NotebookAccessError: nothing from there
            continue
        if value:
            return value
    return None


def _key_from_colab_secrets() -> Optional[str]:
    return _colab_secret(*KEY_VARIABLES)


def _ask_for_key() -> Optional[str]:
    # Looked up at call time: Jupyter kernels install their own getpass for each cell they run.
    import getpass  # noqa: PLC0415

    key = getpass.getpass("Paste your Anthropic API key (hidden; kept in this kernel only), then press Enter: ")
    return key.strip() or None


def _dotenv_words(path: Path) -> str:
    here = Path.cwd()
    if path.parent.resolve() == here.resolve():
        return f"the API key from the .env file in the working directory ({path})"
    return f"the API key from {path}, a .env file in a folder above the working directory ({here})"


def resolve_mode(mode: Optional[str] = None, *, explicit_key: bool = False, ask_key: bool = False) -> tuple[str, str]:
    """The mode to use and, for live, where the key came from, in words (the key itself is never shown).

    The key is looked for in this order: passed to ``connect()``, the environment, ``.env``, Colab's Secrets, and
    last, with ``ask_key=True`` and a mode other than offline, a hidden prompt."""
    key_was_set = _key_in_environment()
    mode_was_set = bool(os.environ.get("KIT_MODE"))
    dotenv_path = _load_dotenv()
    chosen = mode if mode is not None else os.environ.get("KIT_MODE") or None
    if chosen is not None:
        chosen = chosen.strip().lower()
        if chosen not in MODES:
            origin = "connect(mode=...)" if mode is not None else "KIT_MODE"
            raise SetupError(f"{origin} is {chosen!r}; valid modes are: {', '.join(MODES)} (or leave it unset to choose automatically).")
    has_key = explicit_key or _key_in_environment()
    from_colab = False
    if not has_key:
        secret = _key_from_colab_secrets()
        if secret:  # the SDK reads the environment; the kernel's own, never printed or saved
            os.environ[KEY_VARIABLES[0]] = secret
            has_key = from_colab = True
            # A classroom's address goes beside its token, so a Colab learner sets both in the Secrets panel.
            base_url = None if os.environ.get("ANTHROPIC_BASE_URL") else _colab_secret("ANTHROPIC_BASE_URL")
            if base_url:
                os.environ["ANTHROPIC_BASE_URL"] = base_url
    from_prompt = False
    if not has_key and ask_key and chosen != "offline":
        typed = _ask_for_key()
        if typed:  # like a Colab secret: this kernel's environment only, never printed or saved
            os.environ[KEY_VARIABLES[0]] = typed
            has_key = from_prompt = True
        del typed
    if explicit_key:
        source = "the API key passed to connect()"
    elif key_was_set:
        source = "the API key from the environment"
    elif from_colab:
        source = "the API key from Colab's Secrets (ANTHROPIC_API_KEY)"
    elif from_prompt:
        source = "the API key typed at the prompt (kept in this kernel only, not saved)"
    else:
        source = _dotenv_words(dotenv_path) if has_key and dotenv_path else ""
    mode_from_dotenv = mode is None and not mode_was_set and bool(os.environ.get("KIT_MODE")) and dotenv_path
    if mode_from_dotenv:
        source += f" (KIT_MODE={os.environ['KIT_MODE']} is also set in {dotenv_path})"
    if chosen == "live" and not has_key:
        asked = f" (KIT_MODE=live is set in {dotenv_path})" if mode_from_dotenv else ""
        raise SetupError(
            f"Live mode needs an API key, and none is set{asked}. Run helpers.set_api_key() to save your key in .env "
            "(it stays hidden), or copy .env.example to .env and paste your key after ANTHROPIC_API_KEY= (or set "
            "ANTHROPIC_API_KEY in your environment, or on Colab in its Secrets panel), then run connect() again; "
            "connect(ask_key=True) asks for it instead, for this kernel only. "
            "To work without a key, use connect('offline') or KIT_MODE=offline."
        )
    if chosen is None:
        chosen = "live" if has_key else "offline"
    return chosen, source


def _banner(mode: str, source: str, base_url: str) -> str:
    colab = on_colab()
    if mode == "offline":
        where = "ANTHROPIC_API_KEY in Colab's Secrets panel" if colab else "an API key to .env"
        text = ("Offline mode: replies come from the kit's offline backend, deterministic text written for this kit, "
                f"not Claude's. Add {where} for live mode.")
    else:
        text = f"Live mode: requests go to {base_url}, with {source}."
        if ".env" in source:
            text += " To work offline instead, use connect('offline') or set KIT_MODE=offline."
    return f"{text}\n{COLAB_FILES_NOTE}" if colab else text


def _guard_in_transport(client_options: dict[str, Any]) -> bool:
    """Offline, with no middleware or HTTP client of the caller's, the recording transport checks the spending
    limit (the same checks, without the SDK's middleware machinery on every call). A caller's middleware keeps the
    guard as middleware, first, so that it sees only what the guard let through."""
    return not client_options.get("middleware") and "http_client" not in client_options


def _offline_options(client_options: dict[str, Any], http_client: type) -> dict[str, Any]:
    guard = TransportGuard() if _guard_in_transport(client_options) else None
    transport = RecordingTransport(OfflineTransport(), offline=True, guard=guard)
    return {"api_key": OFFLINE_KEY, "base_url": OFFLINE_BASE_URL, "http_client": http_client(transport=transport), **client_options}


def _live_options(client_options: dict[str, Any], http_client: type) -> dict[str, Any]:
    if "http_client" in client_options:
        return client_options  # the caller's own HTTP client: not recorded in the usage log
    client = http_client()
    # Keep the SDK's default transport (its limits and keep-alive settings) and record around it.
    client._transport = RecordingTransport(client._transport, offline=False)
    return {"http_client": client, **client_options}


def _with_guard(options: dict[str, Any]) -> dict[str, Any]:
    """Every client from the kit honours ``helpers.budget``: its guard runs first (offline, unless the transport
    has it: ``_guard_in_transport``)."""
    return {**options, "middleware": [BudgetGuard(), *(options.get("middleware") or ())]}


def connect(
    mode: Optional[str] = None, *, quiet: bool = False, ask_key: bool = False, **client_options: Any
) -> anthropic.Anthropic:
    """The SDK's ``anthropic.Anthropic`` client, live or offline; ``client_options`` go to the SDK.

    ``ask_key=True``: where no key is found, ask for one with a hidden prompt (for this kernel only)."""
    explicit = any(client_options.get(o) for o in KEY_OPTIONS)
    chosen, source = resolve_mode(mode, explicit_key=explicit, ask_key=ask_key)
    if chosen == "offline":
        options = _offline_options(client_options, httpx2.Client)
        client = anthropic.Anthropic(**(options if _guard_in_transport(client_options) else _with_guard(options)))
    else:
        client = anthropic.Anthropic(**_with_guard(_live_options(client_options, anthropic.DefaultHttpxClient)))
    if not quiet:
        print(_banner(chosen, source, str(client.base_url)))
    error_display.install()
    return client


def aconnect(
    mode: Optional[str] = None, *, quiet: bool = False, ask_key: bool = False, **client_options: Any
) -> anthropic.AsyncAnthropic:
    """The async twin of ``connect``: the SDK's ``anthropic.AsyncAnthropic``."""
    explicit = any(client_options.get(o) for o in KEY_OPTIONS)
    chosen, source = resolve_mode(mode, explicit_key=explicit, ask_key=ask_key)
    if chosen == "offline":
        options = _offline_options(client_options, httpx2.AsyncClient)
        client = anthropic.AsyncAnthropic(**(options if _guard_in_transport(client_options) else _with_guard(options)))
    else:
        client = anthropic.AsyncAnthropic(**_with_guard(_live_options(client_options, anthropic.DefaultAsyncHttpxClient)))
    if not quiet:
        print(_banner(chosen, source, str(client.base_url)))
    error_display.install()
    return client
