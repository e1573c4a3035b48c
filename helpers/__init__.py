"""The helpers the lessons import: ``from helpers import connect, ...``.

Each name is imported on first use, so a lesson pays only for what it uses (the widgets
import ipywidgets, the graders the grading machinery) and ``python -m helpers.workspace``
or ``python -m helpers.lab_settings`` import neither the SDK nor the rest of the kit.
"""

from __future__ import annotations

import importlib
import sys
import types

# name -> (module, attribute in it; None: the module itself)
_LAZY = {
    "DEFAULT_MODEL": (".catalog", "DEFAULT_MODEL"),
    "PREFILL_MODEL": (".catalog", "PREFILL_MODEL"),
    "BudgetExceeded": (".budget", "BudgetExceeded"),
    "Conversation": (".conversation", "Conversation"),
    "ConversationError": (".conversation", "ConversationError"),
    "HistoryEditor": (".history_editor", "HistoryEditor"),
    "SetupError": (".connection", "SetupError"),
    "TrimError": (".trim", "TrimError"),
    "UsageViewer": (".usage_viewer", "UsageViewer"),
    "aconnect": (".connection", "aconnect"),
    "api_counter": (".trim", "api_counter"),
    "budget": (".budget", "budget"),
    "catalog": (".catalog", None),
    "check": (".check", None),
    "connect": (".connection", "connect"),
    "forget_api_key": (".api_key", "forget_api_key"),
    "set_api_key": (".api_key", "set_api_key"),
    "trim_to_budget": (".trim", "trim_to_budget"),
    "usage_log": (".usage", "usage_log"),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'helpers' has no attribute {name!r}") from None
    module = importlib.import_module(module_name, __name__)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # later lookups skip this function
    return value


class _Helpers(types.ModuleType):
    def __setattr__(self, name: str, value) -> None:
        # Importing the submodule helpers.budget binds it here; ``helpers.budget`` is that module's function.
        if name == "budget" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Helpers


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
