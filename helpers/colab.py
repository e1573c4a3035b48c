"""Where the kit runs on Google Colab: its kernel has ``google.colab``, and its working folder does not last."""

from __future__ import annotations

import importlib.util

FILES_NOTE = ("On Colab, files the kit saves (.env, exported conversations) go to the working folder "
              "(/content), which is emptied when the runtime ends: download what you want to keep.")


def on_colab() -> bool:
    """True in a Google Colab kernel (``google.colab`` imports there and nowhere else the kit runs)."""
    try:
        return importlib.util.find_spec("google.colab") is not None
    except (ImportError, ValueError):  # a ``google`` package without a spec, or a broken one
        return False
