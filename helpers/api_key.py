"""Save or remove the API key in ``.env`` from inside a notebook, without the key ever being shown.

JupyterLab hides dotfiles, so a learner cannot open ``.env`` there. ``set_api_key()``
asks for the key with a hidden prompt and writes it to the ``.env`` that
``connect()`` reads, readable only by its owner. The key is never printed,
returned or kept in a variable of the notebook, so it cannot end up in a saved
output. ``forget_api_key()`` takes it out again.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Callable, Optional

from dotenv import dotenv_values, find_dotenv

from .colab import on_colab
from .safe_file import replace_file

KEY_NAME = "ANTHROPIC_API_KEY"
KIT_ROOT = Path(__file__).resolve().parents[1]


def env_file() -> Path:
    """The ``.env`` that ``connect()`` reads: the nearest one above the working directory, else the kit's root."""
    found = find_dotenv(usecwd=True)
    if found:
        return Path(found)
    if (KIT_ROOT / ".env.example").exists():
        return KIT_ROOT / ".env"
    return Path.cwd() / ".env"


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` in one step, readable only by its owner; on any failure the old file stays as it was."""
    replace_file(path, text.encode("utf-8"), mode=0o600)


def _lines_without_key(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [
        line for line in path.read_text(encoding="utf-8").splitlines()
        if line.split("=", 1)[0].strip().removeprefix("export ").strip() != KEY_NAME
    ]


def _forget_loaded_copy(path: Path) -> None:
    """If this kernel loaded the old key from this file, drop it so the next ``connect()`` reads the file again."""
    previous = dotenv_values(path).get(KEY_NAME) if path.exists() else None
    if previous and os.environ.get(KEY_NAME) == previous:
        del os.environ[KEY_NAME]


def set_api_key(*, ask: Optional[Callable[[str], str]] = None) -> None:
    """Ask for the key (hidden) and save it in ``.env``; then ``connect()`` runs live."""
    # Looked up at call time: Jupyter kernels install their own getpass for each cell they run.
    ask = ask or getpass.getpass
    key = ask("Paste your Anthropic API key (it stays hidden), then press Enter: ").strip()
    if not key:
        print("Nothing was saved: the key was empty. Run set_api_key() again and paste the key.")
        return
    if any(ch.isspace() for ch in key) or "=" in key or "#" in key:
        print("Nothing was saved: that does not look like a key (it contains spaces, '=' or '#'). "
              "Copy the key again from the Console and run set_api_key() again.")
        return
    path = env_file()
    _forget_loaded_copy(path)
    _write_private(path, "\n".join([*_lines_without_key(path), f"{KEY_NAME}={key}"]) + "\n")
    print(f"Saved your key in {path} (readable only by you). Run connect() again to work live.")
    if on_colab():
        print("On Colab this file is gone when the runtime ends; a key in Colab's Secrets panel stays.")
    if os.environ.get(KEY_NAME) and os.environ[KEY_NAME] != key:
        print(f"Note: {KEY_NAME} is also set in this kernel's environment, and that one wins over .env. "
              "Unset it there (or restart from a shell without it) to use the saved key.")
    del key


def forget_api_key() -> None:
    """Remove the key from ``.env`` (other settings stay); ``connect()`` then runs offline."""
    path = env_file()
    if not path.exists() or not dotenv_values(path).get(KEY_NAME):
        print(f"No key to remove: {path} holds no {KEY_NAME}.")
        return
    _forget_loaded_copy(path)
    _write_private(path, "\n".join(_lines_without_key(path)) + "\n")
    print(f"Removed the key from {path}. connect() now works offline unless a key is set elsewhere.")


def has_saved_key(path: Optional[Path] = None) -> bool:
    path = path or env_file()
    return path.exists() and bool(dotenv_values(path).get(KEY_NAME))
