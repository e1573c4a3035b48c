"""The helpers the lessons import: ``from helpers import connect, ...``."""

from . import catalog
from .catalog import DEFAULT_MODEL, PREFILL_MODEL
from .connection import SetupError, aconnect, connect

__all__ = ["DEFAULT_MODEL", "PREFILL_MODEL", "SetupError", "aconnect", "catalog", "connect"]
