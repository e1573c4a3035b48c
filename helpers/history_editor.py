"""``HistoryEditor``: see, edit and send the whole history a request carries.

An ipywidgets container (JupyterLab 4, VS Code): every turn with its role and
editable content, buttons to add, delete, move and switch turns, a system prompt,
a prefill box, a model picker fed by the catalog, and Send. Problems are shown
before sending; API errors are shown in the widget and nothing typed is lost.
Long histories are shown a page of turns at a time.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any, Optional, Union

import anthropic
import ipywidgets as w

from . import catalog
from .budget import BudgetExceeded
from .conversation import Conversation, Problem, as_param, history_problems

PAGE_SIZE = 20
ROLES = ("user", "assistant")
DEFAULT_MAX_TOKENS = 1024
NEXT_STEP = "next_step"  # Problem.kind of what normally comes next (a user turn to add or write), not a mistake


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if all(b.get("type") == "text" for b in content):
        return "".join(b.get("text", "") for b in content)
    return json.dumps(content, indent=1, ensure_ascii=False)


def _content_from_text(text: str, before: Any) -> Any:
    """Edited text back to content: block lists stay block lists when the text is still valid JSON."""
    if isinstance(before, list) and not all(b.get("type") == "text" for b in before):
        try:
            parsed = json.loads(text)
        except ValueError:
            return text
        return parsed if isinstance(parsed, list) else text
    return text


class _TurnRow(w.HBox):
    """One turn on screen; rows are reused as the page changes, so building stays cheap."""

    def __init__(self, editor: "HistoryEditor"):
        self.editor = editor
        self.index: Optional[int] = None
        self.number = w.Label(layout=w.Layout(width="2.5em"))
        self.role = w.Dropdown(options=ROLES, layout=w.Layout(width="7.5em"), description_allow_html=False)
        self.content = w.Textarea(layout=w.Layout(width="60%", min_height="3em"), continuous_update=True)
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
        super().__init__([self.number, self.role, self.content, self.up, self.down, self.switch, self.delete])
        self.add_class("kit-turn")

    def show(self, index: int, message: dict, total: int) -> None:
        self._filling = True
        self.index = index
        self.number.value = f"{index}"
        self.role.value = message["role"] if message["role"] in ROLES else ROLES[0]
        self.content.value = _content_text(message["content"])
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
            messages = [{"role": m["role"], "content": as_param(m["content"])} for m in conversation_or_messages or []]
        self.client = client
        self._messages: list[dict] = messages
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
        problems = history_problems(self.messages, self.model)
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
        self._checkpoint()
        self._messages.append({"role": role, "content": as_param(content)})
        self._page = (len(self._messages) - 1) // PAGE_SIZE
        self._refresh()

    def remove_turn(self, index: int) -> None:
        self._checkpoint()
        del self._messages[index]
        self._refresh()

    def move_turn(self, index: int, to: int) -> None:
        if not (0 <= index < len(self._messages) and 0 <= to < len(self._messages)) or index == to:
            return
        self._checkpoint()
        self._messages.insert(to, self._messages.pop(index))
        self._refresh()

    def switch_role(self, index: int) -> None:
        self.set_role(index, "assistant" if self._messages[index]["role"] == "user" else "user")

    def set_role(self, index: int, role: str) -> None:
        if self._messages[index]["role"] != role:
            self._checkpoint()
            self._messages[index]["role"] = role
            self._refresh()

    def set_content(self, index: int, text: str) -> None:
        before = self._messages[index]["content"]
        after = _content_from_text(text, before)
        if after != before:
            typing = ("turn", id(self._messages[index]))
            if self._typing != typing:  # one undo step for a stretch of typing in one box, not one per key
                self._checkpoint()
            self._typing = typing
            self._messages[index]["content"] = after
            self._refresh(rows=False)

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
                                              else "fix the problems above first."), error=True)
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
        except anthropic.APIStatusError as error:
            body = error.body if isinstance(error.body, dict) else {}
            detail = body.get("error", {}) if isinstance(body.get("error"), dict) else {}
            self.last_error = f"{error.status_code} {detail.get('type', type(error).__name__)}: {detail.get('message', error.message)}"
            self._show_status(f"The API answered {self.last_error}. Nothing was lost: fix the history and send again.", error=True)
            return None
        except (anthropic.APIConnectionError, BudgetExceeded, anthropic.AnthropicError) as error:
            self.last_error = f"{type(error).__name__}: {error}"
            self._show_status(f"Not sent: {self.last_error}", error=True)
            return None
        self._checkpoint()
        content = as_param(reply)
        if prefill:
            text = prefill + "".join(b.get("text", "") for b in content if b.get("type") == "text")
            content = [{"type": "text", "text": text}] + [b for b in content if b.get("type") != "text"]
            self._restoring = True
            self.prefill_box.value = ""
            self._restoring = False
            self._remember_settings()
        self._messages.append({"role": "assistant", "content": content})
        self.last_reply, self.last_error = reply, None
        self._page = (len(self._messages) - 1) // PAGE_SIZE
        self._refresh()
        usage = reply.usage
        self._show_status(f"stop_reason: <b>{reply.stop_reason}</b> · {usage.input_tokens} input tokens · "
                          f"{usage.output_tokens} output tokens")
        return reply

    def to_json(self) -> str:
        return json.dumps(self.conversation.to_dict(), indent=2, ensure_ascii=False)

    def export(self, path: Union[str, Path]) -> Path:
        return self.conversation.save(path)

    def load(self, path: Union[str, Path]) -> None:
        """Replace the history with a saved conversation (the ``Conversation.save`` format); undo brings it back."""
        loaded = Conversation.load(path)
        self._checkpoint()
        self._messages = loaded.messages
        self._restoring = True
        self.system_box.value = loaded.system or ""
        if loaded.model and catalog.lookup(loaded.model) and catalog.lookup(loaded.model).id in self.model_picker.options:
            self.model_picker.value = catalog.lookup(loaded.model).id
        self._restoring = False
        self._remember_settings()
        self._page = max(0, (len(self._messages) - 1) // PAGE_SIZE)
        self._refresh()

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
        self._refresh(rows=False)

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
        except OSError as error:
            self._show_status(f"Could not export: {error}", error=True)

    def _import_clicked(self) -> None:
        try:
            self.load(self.file_path.value)
            self._show_status(f"Imported {len(self._messages)} turns from {Path(self.file_path.value).name}.")
        except (OSError, ValueError) as error:
            self._show_status(f"Could not import: {error}", error=True)

    def _show_status(self, text: str, *, error: bool = False) -> None:
        color = "#b00020" if error else "#1b5e20"
        self.status.value = f'<div class="kit-status" style="color:{color}">{text}</div>'

    def _refresh(self, rows: bool = True) -> None:
        if rows:
            self._render_rows()
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
        return f'<li class="{css}"><b style="color:{color}">{label}:</b> {_escape(where + problem.message)}</li>'

    def _render_rows(self) -> None:
        total = len(self._messages)
        last_page = max(0, (total - 1) // PAGE_SIZE)
        self._page = min(self._page, last_page)
        start = self._page * PAGE_SIZE
        shown = self._messages[start: start + PAGE_SIZE]
        while len(self._rows) < len(shown):
            self._rows.append(_TurnRow(self))
        for offset, message in enumerate(shown):
            self._rows[offset].show(start + offset, message, total)
        self.rows_box.children = self._rows[: len(shown)]
        self.pager.layout.display = "flex" if total > PAGE_SIZE else "none"
        self.page_label.value = f"turns {start}–{start + len(shown) - 1} of {total}" if total else "no turns"
        self.previous_page.disabled = self._page == 0
        self.next_page.disabled = self._page == last_page

    def __repr__(self) -> str:
        roles = ", ".join(m["role"] for m in self._messages) or "no turns"
        reply = f"; last reply: {self.last_reply.stop_reason}" if self.last_reply is not None else ""
        return f"HistoryEditor({len(self._messages)} turns: {roles}; model {self.model}{reply})"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
