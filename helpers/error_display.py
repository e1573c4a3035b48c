"""API errors in a notebook cell, shown as a few readable lines instead of a traceback through the SDK.

``connect()`` installs this in IPython (JupyterLab, VS Code, any Jupyter kernel) and nowhere else: a plain
script keeps Python's own traceback. The block names the exception's class, the HTTP status, the error type
and the API's message, then one line of what to do where the kit knows; the full traceback stays one step
away, with ``%tb`` in the next cell. Everything is plain text: an error message is never rendered as markup.
"""

from __future__ import annotations

from typing import Any, Optional

import anthropic

from .budget import BudgetExceeded

FULL_TRACEBACK = "(The whole traceback: run %tb in a new cell.)"


def _next_step(error: BaseException) -> Optional[str]:
    """One line of what to do, for the errors whose fix the kit knows."""
    message = str(getattr(error, "api_message", "") or "")
    if isinstance(error, BudgetExceeded):
        return "A spending limit stopped this call before it was sent: raise it, or remove it with helpers.budget(None)."
    if isinstance(error, anthropic.NotFoundError) and message.startswith("model:"):
        return ("That model id is not served (retired, or misspelt): take a current one from the catalog, such as "
                "helpers.DEFAULT_MODEL or an entry of catalog.available().")
    if isinstance(error, anthropic.AuthenticationError):
        return ("The key was refused: check ANTHROPIC_API_KEY in .env (lesson 00, set_api_key()), or, in a "
                "classroom, the clsrm- token your instructor gave you.")
    if isinstance(error, anthropic.PaymentRequiredError):
        return "The budget behind this key is used up: the message says what is left; ask whoever gave you the key."
    if isinstance(error, anthropic.RateLimitError):
        return "Too many requests: the SDK already waited and retried; wait a little (retry-after) and run it again."
    if isinstance(error, anthropic.BadRequestError):
        return "The API refused the request as it was sent: the message names the field to change."
    if isinstance(error, anthropic.APIConnectionError):
        return "No answer came back: check the network, or ANTHROPIC_BASE_URL if you set one."
    if isinstance(error, anthropic.InternalServerError):
        return "Trouble on the API's side, not in your request: run the cell again in a moment."
    return None


def short_lines(error: BaseException) -> list[str]:
    """The lines a cell shows for ``error``."""
    kind = f"{type(error).__module__.split('.')[0]}.{type(error).__name__}"
    if isinstance(error, anthropic.APIStatusError):
        lines = [f"{kind}: HTTP {error.status_code} {error.type or ''}".rstrip(),
                 str(getattr(error, "api_message", None) or error.message)]
    else:
        lines = [f"{kind}: {error}"]
    step = _next_step(error)
    return [*lines, *([f"→ {step}"] if step else []), FULL_TRACEBACK]


def _show(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Optional[int] = None) -> list[str]:
    """IPython's handler for these errors: it shows the short block itself (IPython leaves that to the handler)."""
    shell._get_exc_info((etype, value, tb))  # keeps it where %tb and %debug look for the last error
    lines = short_lines(value)
    shell._showtraceback(etype, value, lines)
    return lines


def install() -> bool:
    """Show API errors briefly in this IPython shell (once); False outside IPython."""
    try:
        from IPython import get_ipython  # noqa: PLC0415 - only a notebook kernel has it loaded
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    if getattr(shell, "_kit_error_display", False):
        return True
    shell.set_custom_exc((anthropic.APIError, BudgetExceeded), _show)
    shell._kit_error_display = True
    return True
