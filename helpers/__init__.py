"""The helpers the lessons import: ``from helpers import connect, ...``."""

from . import catalog, check
from .catalog import DEFAULT_MODEL, PREFILL_MODEL
from .connection import SetupError, aconnect, connect
from .conversation import Conversation, ConversationError
from .usage import usage_log

__all__ = [
    "DEFAULT_MODEL", "PREFILL_MODEL", "Conversation", "ConversationError", "SetupError",
    "aconnect", "catalog", "check", "connect", "usage_log",
]
