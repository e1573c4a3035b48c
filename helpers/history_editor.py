"""``HistoryEditor``: see, edit and send the whole history a request carries.

An ipywidgets container (JupyterLab 4, VS Code): every turn with its role and
editable content, buttons to add, delete, move and switch turns, a system prompt,
a prefill box, a model picker fed by the catalog, and Send. Problems are shown
before sending; API errors are shown in the widget and nothing typed is lost.
Long histories are shown a page of turns at a time. Where no widget can run (a
static page of the lesson), the output shows a snapshot of the history instead.

Text that comes from a file, a learner or an API response is only ever shown as
text: in text widgets, or escaped where a widget renders HTML. An import is checked
whole before anything changes. Thinking blocks are shown as a read-only note, sent
back unchanged, and removed (with a note saying why) when an edit changes what came
before them: see ``helpers/thinking.py``.
"""

from __future__ import annotations

import copy
import dataclasses
import html
import json
from pathlib import Path
from typing import Any, Optional, Union

import anthropic
import ipywidgets as w

from . import catalog, thinking
from .budget import BudgetExceeded
from .connection import SetupError
from .conversation import Conversation, Problem, as_param, history_problems
from .conversation_file import ConversationFileError, message_problems

PAGE_SIZE = 20
SNAPSHOT_CHARS = 2000
"""The most of one turn's text the static snapshot keeps (``snapshot_html``): a long document stays in the editor."""
SNAPSHOT_STYLE = ("<style>.kit-history-snapshot table { border-collapse: collapse; font-size: 90%; }"
                  " .kit-history-snapshot th, .kit-history-snapshot td { border: 1px solid rgba(128, 128, 128, 0.35);"
                  " padding: 2px 6px; text-align: left; vertical-align: top; }"
                  " .kit-history-snapshot th { white-space: nowrap; }"
                  " .kit-history-snapshot td > div { white-space: pre-wrap; overflow-wrap: anywhere; }</style>")
ROLES = ("user", "assistant")
DEFAULT_MAX_TOKENS = 1024
NEXT_STEP = "next_step"  # Problem.kind of what normally comes next (a user turn to add or write), not a mistake


NO_KEY = ("Not sent: this client has no API key. Run helpers.set_api_key() (or put ANTHROPIC_API_KEY=... in .env), "
          "then connect() again; or work offline with connect('offline').")
STATUS_COLORS = {"ok": "#1b5e20", "error": "#b00020", "note": "#8a4b00"}


def _editable(content: Any) -> list:
    return [b for b in content if not thinking.is_thinking(b)]


def _plain(content: Any) -> bool:
    """Edited as plain text: text only, after any thinking blocks (which stay where they are)."""
    if isinstance(content, str):
        return True
    editable = _editable(content)
    first = next((i for i, b in enumerate(content) if not thinking.is_thinking(b)), len(content))
    return all(b.get("type") == "text" for b in editable) and not any(thinking.is_thinking(b) for b in content[first:])


def _content_text(content: Any) -> str:
    """What the turn's text box shows: the text, or the JSON of its blocks; never its thinking blocks."""
    if isinstance(content, str):
        return content
    if _plain(content):
        return "".join(b.get("text", "") for b in _editable(content))
    return json.dumps(_editable(content), indent=1, ensure_ascii=False)


def _content_from_text(text: str, before: Any, role: str) -> tuple[Any, str]:
    """Edited text back to content, thinking blocks kept in place; or the reason it cannot be used."""
    if _plain(before):
        leading = [b for b in before if thinking.is_thinking(b)] if isinstance(before, list) else []
        return (leading + ([{"type": "text", "text": text}] if text else []) if leading else text), ""
    try:
        parsed = json.loads(text)
    except ValueError as error:
        where = f" (line {error.lineno}, column {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
        return None, f"the blocks typed here are not valid JSON: {getattr(error, 'msg', error)}{where}"
    if not isinstance(parsed, list):
        return None, "the blocks typed here must be a JSON list of content blocks: [{\"type\": ..., ...}]"
    problems = message_problems([{"role": role, "content": parsed}])
    if problems:
        return None, "the blocks typed here are not valid: " + problems[0].replace("turn 0, ", "", 1)
    if any(thinking.is_thinking(b) for b in parsed):
        return None, "thinking blocks cannot be typed in: they come only from the API (the ones it sent are kept)"
    content = list(parsed)
    for position, block in enumerate(before):
        if thinking.is_thinking(block):
            content.insert(min(position, len(content)), block)
    return content, ""


def _thinking_note(content: Any) -> str:
    blocks = [b for b in content if thinking.is_thinking(b)] if isinstance(content, list) else []
    if not blocks:
        return ""
    shown = []
    for block in blocks:
        text = block.get("thinking") or ""
        shown.append("redacted: encrypted by the API" if block.get("type") == "redacted_thinking"
                     else (f"“{text[:117]}…”" if len(text) > 120 else f"“{text}”") if text else "its text is not shown by the API")
    them = "them" if len(blocks) > 1 else "it"
    # Words, not an emoji: a padlock shows as an empty box where no emoji font is installed.
    return (f"Locked: {len(blocks)} thinking block{'s' if len(blocks) > 1 else ''} from the API ({'; '.join(shown)}). "
            f"Sent back unchanged, not editable; editing an earlier turn or the system prompt removes {them}.")


def _note_html(note: str) -> str:
    """The note as escaped text that wraps in its column (a Label would cut it to one line)."""
    return (f'<div class="kit-thinking-note" style="white-space: normal; overflow-wrap: anywhere; line-height: 1.35; '
            f'font-size: 90%; opacity: 0.8">{html.escape(note, quote=True)}</div>')


def _normalized(messages: list) -> list:
    """SDK blocks as plain data; anything that is not a turn is left for ``message_problems`` to name."""
    out = []
    for message in messages:
        if isinstance(message, dict) and isinstance(message.get("content"), (list, tuple, anthropic.types.Message)):
            try:
                message = {**message, "content": as_param(message["content"])}
            except (TypeError, ValueError, AttributeError):
                pass
        out.append(message)
    return out


class _TurnRow(w.HBox):
    """One turn on screen; rows are reused as the page changes, so building stays cheap."""

    def __init__(self, editor: "HistoryEditor"):
        self.editor = editor
        self.index: Optional[int] = None
        self.number = w.Label(layout=w.Layout(width="2.5em"))
        self.role = w.Dropdown(options=ROLES, layout=w.Layout(width="7.5em"))
        self.content = w.Textarea(layout=w.Layout(width="100%", min_height="3em"), continuous_update=True)
        self.thinking_note = w.HTML(layout=w.Layout(display="none"))  # escaped text: never rendered as markup
        self.thinking_note_text = ""
        self.up = w.Button(icon="arrow-up", tooltip="Move up", layout=w.Layout(width="2.5em"))
        self.down = w.Button(icon="arrow-down", tooltip="Move down", layout=w.Layout(width="2.5em"))
        self.switch = w.Button(icon="exchange", tooltip="Switch role", layout=w.Layout(width="2.5em"))
        self.delete = w.Button(icon="trash", tooltip="Delete this turn", layout=w.Layout(width="2.5em"))
        self._filling = False
        self.role.observe(self._role_changed, "value")
        self.content.observe(self._content_changed, "value")
        for button in (self.up, self.down, self.switch, self.delete):
            button.layout.padding = "0"  # the default side padding leaves no room for the icon in 2.5em
        self.up.on_click(lambda _: self.editor.move_turn(self.index, self.index - 1))
        self.down.on_click(lambda _: self.editor.move_turn(self.index, self.index + 1))
        self.switch.on_click(lambda _: self.editor.switch_role(self.index))
        self.delete.on_click(lambda _: self.editor.remove_turn(self.index))
        body = w.VBox([self.thinking_note, self.content], layout=w.Layout(width="60%"))
        super().__init__([self.number, self.role, body, self.up, self.down, self.switch, self.delete])
        self.add_class("kit-turn")

    def show(self, index: int, message: dict, total: int, draft: Optional[str] = None) -> None:
        self._filling = True
        self.index = index
        self.number.value = f"{index}"
        self.role.value = message["role"] if message["role"] in ROLES else ROLES[0]
        self.content.value = draft if draft is not None else _content_text(message["content"])
        note = _thinking_note(message["content"])
        self.thinking_note_text = note
        self.thinking_note.value = _note_html(note) if note else ""
        self.thinking_note.layout.display = "flex" if note else "none"
        self.up.disabled = index == 0
        self.down.disabled = index == total - 1
        self.add_class(f"kit-role-{message['role']}")
        self.remove_class(f"kit-role-{'assistant' if message['role'] == 'user' else 'user'}")
        self._filling = False

    def _role_changed(self, change: dict) -> None:
        if not self._filling and self.index is not None:
            self.editor.set_role(self.index, change["new"])

    def _content_changed(self, change: dict) -> None:
        if not self._filling and self.index is not None:
            self.editor.set_content(self.index, change["new"])


class HistoryEditor(w.VBox):
    """Edit a conversation turn by turn and send it; ``.messages`` is what Send would send."""

    def __init__(
        self,
        conversation_or_messages: Union[Conversation, list, None] = None,
        *,
        client: Optional[anthropic.Anthropic] = None,
        model: Optional[str] = None,
        system: Optional[str] = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ):
        if isinstance(conversation_or_messages, Conversation):
            messages = conversation_or_messages.messages
            model = model or conversation_or_messages.model
            system = system if system is not None else conversation_or_messages.system
        else:
            given = _normalized(list(conversation_or_messages or []))
            problems = message_problems(given)
            if problems:
                raise ConversationFileError("HistoryEditor cannot show this history:", problems)
            messages = [{"role": m["role"], "content": copy.deepcopy(m["content"])} for m in given]
        if system is not None and not isinstance(system, str):
            raise TypeError(f"system must be text, not {type(system).__name__}")
        self.client = client
        self._messages: list[dict] = messages
        self._drafts: dict[int, tuple[str, str]] = {}  # id(turn) -> (text typed, why it cannot be used yet)
        self._undo: list[tuple] = []
        self._page = max(0, (len(messages) - 1) // PAGE_SIZE)
        self.last_reply: Optional[anthropic.types.Message] = None
        self.last_error: Optional[str] = None

        ids = [m.id for m in catalog.available()]
        chosen = catalog.get(model).id if model else catalog.DEFAULT_MODEL
        self.model_picker = w.Dropdown(options=ids, value=chosen, description="Model")
        self.max_tokens = w.BoundedIntText(value=max_tokens, min=0, max=128_000, description="max_tokens")
        self.system_box = w.Textarea(value=system or "", placeholder="System prompt (optional)", description="System",
                                     layout=w.Layout(width="80%"), continuous_update=False)
        self.rows_box = w.VBox()
        self._rows: list[_TurnRow] = []
        self.pager = w.HBox()
        self.page_label = w.Label()
        self.previous_page = w.Button(description="◀ earlier", layout=w.Layout(width="7em"))
        self.next_page = w.Button(description="later ▶", layout=w.Layout(width="7em"))
        self.previous_page.on_click(lambda _: self._turn_page(-1))
        self.next_page.on_click(lambda _: self._turn_page(1))
        self.pager.children = [self.previous_page, self.page_label, self.next_page]
        self.add_user_button = w.Button(description="+ user turn", icon="user")
        self.add_assistant_button = w.Button(description="+ assistant turn (synthetic)", icon="pencil",
                                             layout=w.Layout(width="auto"))
        self.add_user_button.on_click(lambda _: self.add_turn("user", ""))
        self.add_assistant_button.on_click(lambda _: self.add_turn("assistant", ""))
        self.prefill_box = w.Text(placeholder="Prefill: the start of the next reply (optional)", description="Prefill",
                                  layout=w.Layout(width="80%"), continuous_update=True)
        self.problems_box = w.HTML()
        self.send_button = w.Button(description="Send", button_style="primary", icon="paper-plane")
        self.undo_button = w.Button(description="Undo", icon="undo")
        self.send_button.on_click(lambda _: self.send())
        self.undo_button.on_click(lambda _: self.undo())
        self.status = w.HTML()
        self.file_path = w.Text(value="conversation.json", description="File")
        self.save_button = w.Button(description="Export", icon="download")
        self.load_button = w.Button(description="Import", icon="upload")
        self.save_button.on_click(lambda _: self._export_clicked())
        self.load_button.on_click(lambda _: self._import_clicked())

        for box in (self.model_picker, self.system_box, self.prefill_box):
            box.observe(self._setting_changed, "value")
        self._remember_settings()
        super().__init__([
            w.HBox([self.model_picker, self.max_tokens]),
            self.system_box,
            self.pager,
            self.rows_box,
            w.HBox([self.add_user_button, self.add_assistant_button]),
            self.prefill_box,
            self.problems_box,
            w.HBox([self.send_button, self.undo_button]),
            self.status,
            w.HBox([self.file_path, self.save_button, self.load_button]),
        ])
        self.add_class("kit-history-editor")
        self._refresh()

    # ---- the programmatic face -------------------------------------------------------------
    @property
    def messages(self) -> list[dict]:
        """The API-ready history Send would send, prefill included as a trailing assistant turn."""
        messages = copy.deepcopy(self._messages)
        if self.prefill_box.value:
            messages.append({"role": "assistant", "content": self.prefill_box.value})
        return messages

    @property
    def model(self) -> str:
        return self.model_picker.value

    @property
    def system(self) -> str:
        return self.system_box.value

    @property
    def conversation(self) -> Conversation:
        conversation = Conversation(system=self.system or None, model=self.model)
        for message in self._messages:
            (conversation.add_user if message["role"] == "user" else conversation.add_assistant)(copy.deepcopy(message["content"]))
        return conversation

    def problems(self) -> list[Problem]:
        drafts = [Problem(i, f"{self._drafts[id(m)][1]}. Fix them, or Undo to go back; until then Send uses "
                             "nothing from this turn's box.")
                  for i, m in enumerate(self._messages) if id(m) in self._drafts]
        problems = drafts + history_problems(self.messages, self.model)
        if self.prefill_box.value:
            return [Problem(p.turn, f"{self.model} does not accept prefills: clear the Prefill box, or pick a model "
                                    f"that accepts them, such as {catalog.PREFILL_MODEL}.", kind=p.kind)
                    if p.kind == "prefill_unsupported" else p for p in problems]
        if not self._messages:
            return problems
        last = len(self._messages) - 1
        role, content = self._messages[last]["role"], self._messages[last]["content"]
        if role == "user":
            if _content_text(content).strip():
                return problems
            # A user turn just added and not written yet: writing it is the next step, not a mistake to fix.
            return [dataclasses.replace(p, kind=NEXT_STEP) if p.turn == last and p.blocking else p for p in problems]
        if isinstance(content, list) and any(b.get("type") == "tool_use" for b in content):
            return problems  # the missing tool_result is what comes next, and its problem says so
        # Ending with the assistant's turn is the normal state after Send: say what comes next.
        entry = catalog.lookup(self.model)
        accepts_prefill = entry is not None and entry.supports_prefill
        if not _content_text(content).strip():
            step = Problem(last, "write this assistant turn (yours to write), then add a user turn (+ user turn) "
                                 "for the question it answers.", kind=NEXT_STEP)
        else:
            step = Problem(last, "the last turn is the assistant's: add a user turn (+ user turn) for your next "
                                 "message, then Send.", kind=NEXT_STEP)
        if accepts_prefill:  # Send would continue this turn, which the model allows
            step = dataclasses.replace(step, message=step.message + " Sending as it is continues this turn as a "
                                                                     "prefill.", blocking=False)
        return [p for p in problems if p.kind != "prefill_unsupported"] + [step]

    def add_turn(self, role: str, content: Any) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be 'user' or 'assistant', not {role!r}")
        [turn] = _normalized([{"role": role, "content": content}])
        problems = message_problems([turn])
        if problems:
            raise ConversationFileError("This turn cannot be added:", [p.replace("turn 0", "the turn", 1) for p in problems])
        self._checkpoint()
        self._messages.append({"role": role, "content": copy.deepcopy(turn["content"])})
        self._page = (len(self._messages) - 1) // PAGE_SIZE
        self._refresh()

    def remove_turn(self, index: int) -> None:
        self._checkpoint()
        del self._messages[index]
        self._changed_before_thinking(f"turn {index} was deleted", index)
        self._refresh()

    def move_turn(self, index: int, to: int) -> None:
        if not (0 <= index < len(self._messages) and 0 <= to < len(self._messages)) or index == to:
            return
        self._checkpoint()
        self._messages.insert(to, self._messages.pop(index))
        self._changed_before_thinking(f"turn {index} was moved", min(index, to))
        self._refresh()

    def switch_role(self, index: int) -> None:
        self.set_role(index, "assistant" if self._messages[index]["role"] == "user" else "user")

    def set_role(self, index: int, role: str) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be 'user' or 'assistant', not {role!r}")
        if self._messages[index]["role"] != role:
            self._checkpoint()
            self._messages[index]["role"] = role
            self._changed_before_thinking(f"the role of turn {index} was switched", index)
            self._refresh()

    def set_content(self, index: int, text: str) -> None:
        """Use ``text`` as the turn's content; text that is not valid blocks is kept as a draft and named as a problem."""
        message = self._messages[index]
        before = message["content"]
        after, reason = _content_from_text(text, before, message["role"])
        if reason:
            self._drafts[id(message)] = (text, reason)
            self._refresh(rows=False)
            return
        self._drafts.pop(id(message), None)
        if after == before:
            self._refresh(rows=False)
            return
        typing = ("turn", id(message))
        if self._typing != typing:  # one undo step for a stretch of typing in one box, not one per key
            self._checkpoint()
        self._typing = typing
        message["content"] = after
        touched = self._changed_before_thinking(f"turn {index} was edited", index, thinking.first_change(before, after))
        self._refresh(rows=bool(touched))

    def undo(self) -> bool:
        """Go back one change; False when there is nothing to undo."""
        if not self._undo:
            return False
        messages, system, prefill, model = self._undo.pop()
        self._typing = None
        self._messages = messages
        self._restoring = True
        self.system_box.value, self.prefill_box.value, self.model_picker.value = system, prefill, model
        self._restoring = False
        self._remember_settings()
        self._refresh()
        return True

    def send(self) -> Optional[anthropic.types.Message]:
        """Send the history (and prefill); append the reply. Problems and API errors are shown, not raised."""
        blocking = [p for p in self.problems() if p.blocking]
        if blocking:
            steps_only = all(p.kind == NEXT_STEP for p in blocking)
            self._show_status("Not sent: " + ("do the next step above first." if steps_only
                                              else "fix the problems above first."), kind="error")
            return None
        prefill = self.prefill_box.value
        options: dict[str, Any] = {"model": self.model, "max_tokens": self.max_tokens.value, "messages": self.messages}
        if self.system:
            options["system"] = self.system
        try:
            client = self.client
            if client is None:
                from .connection import connect
                client = self.client = connect(quiet=True)
            reply = client.messages.create(**options)
        except SetupError as error:
            self.last_error = str(error)
            self._show_status(f"Not sent: {error}", kind="error")
            return None
        except TypeError as error:
            if "Could not resolve authentication method" not in str(error):  # the SDK's words for a missing key
                raise
            self.last_error = NO_KEY
            self._show_status(NO_KEY, kind="error")
            return None
        except anthropic.APIStatusError as error:
            body = error.body if isinstance(error.body, dict) else {}
            detail = body.get("error", {}) if isinstance(body.get("error"), dict) else {}
            self.last_error = f"{error.status_code} {detail.get('type', type(error).__name__)}: {detail.get('message', error.message)}"
            self._show_status(f"The API answered {self.last_error}. Nothing was lost: fix the history and send again.",
                              kind="error")
            return None
        except (anthropic.APIConnectionError, BudgetExceeded, anthropic.AnthropicError) as error:
            self.last_error = f"{type(error).__name__}: {error}"
            self._show_status(f"Not sent: {self.last_error}", kind="error")
            return None
        self._checkpoint()
        content = as_param(reply)
        if prefill:
            # The reply continues the prefill: prepend it to the first text block, every block left in its place.
            first = next((i for i, b in enumerate(content) if b.get("type") == "text"), None)
            if first is None:
                content.insert(thinking.count(content), {"type": "text", "text": prefill})
            else:
                content[first] = {**content[first], "text": prefill + content[first].get("text", "")}
            self._restoring = True
            self.prefill_box.value = ""
            self._restoring = False
            self._remember_settings()
        self._messages.append({"role": "assistant", "content": content})
        self.last_reply, self.last_error = reply, None
        self._page = (len(self._messages) - 1) // PAGE_SIZE
        self._refresh()
        usage = reply.usage
        self._show_status_html(f"stop_reason: <b>{_as_text(str(reply.stop_reason))}</b> · {int(usage.input_tokens)} "
                               f"input tokens · {int(usage.output_tokens)} output tokens")
        return reply

    def to_json(self) -> str:
        return json.dumps(self.conversation.to_dict(), indent=2, ensure_ascii=False)

    def export(self, path: Union[str, Path]) -> Path:
        return self.conversation.save(path)

    def load(self, path: Union[str, Path]) -> str:
        """Replace the history with a saved conversation (the ``Conversation.save`` format); undo brings it back.

        The whole file is checked first: a file that is not a conversation raises ConversationFileError
        (or OSError) and changes nothing. Returns a note about the model when the file's one is not offered.
        """
        loaded = Conversation.load(path)
        entry = catalog.lookup(loaded.model) if loaded.model else None
        offered = entry is not None and entry.id in self.model_picker.options
        note = "" if offered or not loaded.model else (
            f" The file asks for the model {loaded.model!r}, which the catalog does not offer, so the model stays "
            f"{self.model}.")
        self._checkpoint()
        self._messages = loaded.messages
        self._drafts.clear()
        self._restoring = True
        self.system_box.value = loaded.system or ""
        if offered:
            self.model_picker.value = entry.id
        self._restoring = False
        self._remember_settings()
        self._page = max(0, (len(self._messages) - 1) // PAGE_SIZE)
        self._refresh()
        return note

    # ---- internals -----------------------------------------------------------------------------
    _restoring = False
    _typing: Optional[tuple] = None  # the box being typed into since the last undo step

    def _remember_settings(self) -> None:
        self._settings = (self.system_box.value, self.prefill_box.value, self.model_picker.value)

    def _checkpoint(self, settings: Optional[tuple] = None) -> None:
        system, prefill, model = settings or self._settings
        self._typing = None
        self._undo.append((copy.deepcopy(self._messages), system, prefill, model))

    def _setting_changed(self, change: dict) -> None:
        if self._restoring:
            return
        typing = ("setting", "prefill") if change["owner"] is self.prefill_box else None
        if typing is None or self._typing != typing:
            self._checkpoint(self._settings_before(change))
        self._typing = typing
        self._remember_settings()
        # The system prompt comes before every thinking block.
        touched = change["owner"] is self.system_box and self._changed_before_thinking("the system prompt changed", 0)
        self._refresh(rows=bool(touched))

    def _changed_before_thinking(self, change: str, turn: int, block: int = 0) -> list[int]:
        """Remove the thinking blocks that follow a change (they no longer match what came before them), and say so."""
        touched = thinking.drop_after(self._messages, turn, block)
        if touched:
            self._show_status(thinking.removal_note(change, touched) + " Undo brings them back.", kind="note")
        return touched

    def _settings_before(self, change: dict) -> tuple:
        system, prefill, model = self._settings
        if change["owner"] is self.system_box:
            system = change["old"]
        elif change["owner"] is self.prefill_box:
            prefill = change["old"]
        else:
            model = change["old"]
        return system, prefill, model

    def _turn_page(self, step: int) -> None:
        last_page = max(0, (len(self._messages) - 1) // PAGE_SIZE)
        self._page = min(max(0, self._page + step), last_page)
        self._refresh()

    def _export_clicked(self) -> None:
        try:
            path = self.export(self.file_path.value)
            self._show_status(f"Exported {len(self._messages)} turns to {path.name}.")
        except (OSError, ValueError) as error:
            self._show_status(f"Could not export: {_reason(error)}", kind="error")

    def _import_clicked(self) -> None:
        try:
            note = self.load(self.file_path.value)
            self._show_status(f"Imported {len(self._messages)} turns from {Path(self.file_path.value).name}.{note}")
        except (OSError, ValueError) as error:
            self._show_status(f"Could not import: {_reason(error)}\nNothing was changed.", kind="error")

    def _show_status(self, text: str, *, kind: str = "ok") -> None:
        """Show ``text`` as text: it may hold words from a file, the learner or the API."""
        self._show_status_html(_as_text(text).replace("\n", "<br>"), kind=kind)

    def _show_status_html(self, markup: str, *, kind: str = "ok") -> None:
        self.status.value = f'<div class="kit-status" style="color:{STATUS_COLORS[kind]}">{markup}</div>'

    def _refresh(self, rows: bool = True) -> None:
        if rows:
            self._render_rows()
        live = {id(m) for m in self._messages}
        self._drafts = {key: value for key, value in self._drafts.items() if key in live}
        problems = self.problems()
        if problems:
            items = "".join(self._problem_html(p) for p in problems)
            self.problems_box.value = f'<ul class="kit-problems" style="line-height:1.5">{items}</ul>'
        else:
            self.problems_box.value = ""
        self.undo_button.disabled = not self._undo

    def _problem_html(self, problem: Problem) -> str:
        """One problem: "Cannot send" (Send is refused), "Next step" (the usual next move) or "Note" (sent anyway)."""
        if problem.kind == NEXT_STEP:
            label, css, color = "Next step", "kit-problem-next", "#0d47a1"
        elif problem.blocking:
            label, css, color = "Cannot send", "kit-problem-blocking", "#b00020"
        else:
            label, css, color = "Note", "kit-problem-note", "#8a4b00"
        prefill_turn = self.prefill_box.value and problem.turn == len(self._messages)
        where = "the Prefill box: " if prefill_turn else (f"turn {problem.turn}: " if problem.turn is not None else "")
        return f'<li class="{css}"><b style="color:{color}">{label}:</b> {_as_text(where + problem.message)}</li>'

    def _render_rows(self) -> None:
        total = len(self._messages)
        last_page = max(0, (total - 1) // PAGE_SIZE)
        self._page = min(self._page, last_page)
        start = self._page * PAGE_SIZE
        shown = self._messages[start: start + PAGE_SIZE]
        while len(self._rows) < len(shown):
            self._rows.append(_TurnRow(self))
        for offset, message in enumerate(shown):
            draft = self._drafts.get(id(message))
            self._rows[offset].show(start + offset, message, total, draft[0] if draft else None)
        self.rows_box.children = self._rows[: len(shown)]
        self.pager.layout.display = "flex" if total > PAGE_SIZE else "none"
        self.page_label.value = f"turns {start}–{start + len(shown) - 1} of {total}" if total else "no turns"
        self.previous_page.disabled = self._page == 0
        self.next_page.disabled = self._page == last_page

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        # Where no widget can run (a static page of the lesson, a viewer without widgets), the history as it was
        # when the cell ran; wherever widgets work, the live editor is shown instead.
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/html"] = self.snapshot_html()
        return bundle

    def snapshot_html(self) -> str:
        """The history (system prompt, turns, prefill) as static HTML, every text escaped: never rendered as markup."""
        def row(label: str, text: str, note: str = "") -> str:
            if len(text) > SNAPSHOT_CHARS:
                text = text[:SNAPSHOT_CHARS] + "…"
            return (f'<tr><th>{_as_text(label)}</th><td><div>{_as_text(text)}</div>'
                    f'{_note_html(note) if note else ""}</td></tr>')

        rows = [row("system", self.system)] if self.system else []
        rows += [row(f"{index} · {message['role']}", _content_text(message["content"]),
                     _thinking_note(message["content"])) for index, message in enumerate(self._messages)]
        if self.prefill_box.value:
            rows.append(row("prefill", self.prefill_box.value))
        caption = (f"History editor, as it was when the cell ran ({len(self._messages)} turns, model "
                   f"{self.model}); run the notebook to edit and send it.")
        return (f'{SNAPSHOT_STYLE}<div class="kit-history-snapshot"><p style="font-size: 90%; opacity: 0.8">'
                f'{_as_text(caption)}</p><table>{"".join(rows)}</table></div>')

    def __repr__(self) -> str:
        roles = ", ".join(m["role"] for m in self._messages) or "no turns"
        reply = f"; last reply: {self.last_reply.stop_reason}" if self.last_reply is not None else ""
        return f"HistoryEditor({len(self._messages)} turns: {roles}; model {self.model}{reply})"


def _as_text(text: str) -> str:
    """Text for the inside of an HTML element: shown as written, never as markup."""
    return html.escape(text, quote=False)


def _reason(error: BaseException) -> str:
    """An error in words: an OSError's message names the file without the errno noise."""
    if isinstance(error, OSError) and error.strerror:
        name = f" ({Path(error.filename).name})" if error.filename else ""
        return f"{error.strerror}{name}."
    return str(error)
