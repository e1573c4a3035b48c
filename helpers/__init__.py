"""The helpers the lessons import: ``from helpers import connect, ...``."""

from . import catalog, check
from .api_key import forget_api_key, set_api_key
from .budget import BudgetExceeded, budget
from .catalog import DEFAULT_MODEL, PREFILL_MODEL
from .connection import SetupError, aconnect, connect
from .conversation import Conversation, ConversationError
from .trim import TrimError, api_counter, trim_to_budget
from .usage import usage_log

__all__ = [
    "DEFAULT_MODEL", "PREFILL_MODEL", "BudgetExceeded", "Conversation", "ConversationError", "HistoryEditor",
    "SetupError", "TrimError", "UsageViewer", "aconnect", "api_counter", "budget", "catalog", "check", "connect",
    "forget_api_key", "set_api_key", "trim_to_budget", "usage_log",
]


def __getattr__(name: str):
    # The widgets import ipywidgets; only lessons that show them pay for it.
    if name == "HistoryEditor":
        from .history_editor import HistoryEditor
        return HistoryEditor
    if name == "UsageViewer":
        from .usage_viewer import UsageViewer
        return UsageViewer
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")
