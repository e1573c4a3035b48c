"""``UsageViewer``: watch what every call costs, live, from ``helpers.usage_log``.

Running totals (calls, tokens, dollars, the spending limit) on top, a gauge of how
full the latest call's context window was, and the latest calls, a page at a time,
with bars of input vs output tokens and the prompt cache's reads and writes (with the
money they saved, or cost: a write is dearer than plain input). It updates as calls happen, without re-running
the cell, and fits a notebook column: below ``NARROW_PX`` each call takes two short
lines instead of one wide row.
"""

from __future__ import annotations

import html
from typing import Any, Optional

import ipywidgets as w

from . import catalog
from .budget import budget as set_budget
from .budget import current as current_budget
from .budget import watch as watch_budget
from .usage import Record, UsageLog, usage_log

ROWS = 10  # calls on one page; the totals always count every call
BAR_WIDTH_PX = 72
NARROW_PX = 940  # the width below which each call takes two lines (the wide table, cache column and all, needs ~920)
INPUT_COLOR, OUTPUT_COLOR = "#5c6bc0", "#ef6c00"
CACHE_READ_COLOR, CACHE_WRITE_COLOR = "#26a69a", "#ab47bc"
PLACEHOLDER = ("UsageViewer: a live table of the API calls this kernel makes. "
               "Run this cell to show it (it needs a running kernel and widget support).")

# Scoped to the viewer by class names; shipped with the table (the totals and gauge use it too).
# Text never wraps inside a word: a cell either fits or moves to the next line whole.
STYLE = f"""<style>
.kit-usage {{container-type: inline-size; line-height: 1.45; font-size: var(--jp-ui-font-size1, 13px);}}
.kit-usage-totals {{display: flex; flex-wrap: wrap; column-gap: 0.9em; line-height: 1.6;}}
.kit-usage-totals > span {{white-space: nowrap;}}
.kit-usage-table {{border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums;}}
.kit-usage-table th, .kit-usage-table td {{padding: 1px 6px; text-align: left; white-space: nowrap; vertical-align: middle;}}
.kit-usage-table th {{font-weight: 600; border-bottom: 1px solid var(--jp-border-color1, #bdbdbd);}}
.kit-usage-table .kit-col-input, .kit-usage-table .kit-col-output, .kit-usage-table .kit-col-time,
.kit-usage-table .kit-col-cost, .kit-usage-table .kit-col-number {{text-align: right;}}
.kit-usage-table .kit-col-break, .kit-usage-table .kit-unit {{display: none;}}
.kit-usage-row:nth-child(even) {{background: var(--jp-layout-color2, #eeeeee);}}
.kit-usage-row .kit-failed {{color: var(--jp-error-color1, #d32f2f);}}
.kit-usage-muted {{color: var(--jp-ui-font-color2, #616161);}}
.kit-bars {{display: inline-block; width: {BAR_WIDTH_PX}px; vertical-align: middle;}}
.kit-bars > div, .kit-bars i {{height: 5px;}}
@container (max-width: {NARROW_PX}px) {{
  .kit-usage-table, .kit-usage-table tbody {{display: block;}}
  .kit-usage-table thead {{display: none;}}
  .kit-usage-row {{display: flex; flex-wrap: wrap; align-items: center; padding: 2px 0;}}
  .kit-usage-table td {{display: block; padding: 0 4px;}}
  .kit-usage-table .kit-col-number {{width: 2.6em; text-align: right;}}
  .kit-usage-table .kit-col-number::before {{content: "#";}}
  .kit-usage-table .kit-col-result, .kit-usage-table .kit-col-cost {{margin-left: auto;}}
  .kit-usage-table .kit-col-break {{display: block; flex-basis: 100%; height: 0; padding: 0;}}
  .kit-usage-table .kit-col-input {{margin-left: 2.6em;}}
  .kit-usage-table .kit-unit {{display: inline;}}
}}
</style>"""

COLUMNS = (  # (css name, header) in the order cells appear
    ("number", "#"), ("model", "model"), ("call", "call"), ("result", "result"), ("break", ""),
    ("input", "input"), ("output", "output"), ("bars", "tokens"), ("cache", "cache"), ("time", "time"), ("cost", "cost"),
)


def _escape(text: Any) -> str:
    """Text from outside (model ids, stop reasons, error messages) as inert HTML, quotes included."""
    return html.escape(str(text), quote=True)


def _all_input(record: Record) -> int:
    """Every input token of a call: the uncached ones and those the prompt cache read or wrote."""
    return record.input_tokens + record.cache_read_input_tokens + record.cache_creation_input_tokens


def _bars(record: Record, biggest: int) -> str:
    """A call's input (uncached, cache read, cache write, side by side) and output as two bars, on the scale of the
    largest call shown."""
    width = lambda tokens: round(BAR_WIDTH_PX * tokens / biggest)  # noqa: E731
    parts = ((INPUT_COLOR, record.input_tokens), (CACHE_READ_COLOR, record.cache_read_input_tokens),
             (CACHE_WRITE_COLOR, record.cache_creation_input_tokens))
    segments = "".join(f'<i style="background:{color};width:{width(tokens)}px"></i>' for color, tokens in parts if tokens)
    title = (f"{record.input_tokens} uncached input, {record.cache_read_input_tokens} cache read, "
             f"{record.cache_creation_input_tokens} cache write / {record.output_tokens} out"
             if record.cache_read_input_tokens or record.cache_creation_input_tokens
             else f"{record.input_tokens} in / {record.output_tokens} out")
    return (f'<div class="kit-bars" title="{title}"><div style="display:flex">{segments}</div>'
            f'<div style="background:{OUTPUT_COLOR};width:{width(record.output_tokens)}px;margin-top:1px"></div></div>')


def _model(record: Record) -> str:
    """The model that answered, or the one asked for when the answer names none (errors, token counts)."""
    if record.model:
        return record.model
    request = record.request or {}
    model = request.get("model")
    return model if isinstance(model, str) else ""


def _result(record: Record) -> str:
    """Status and stop reason; for a failed call, the error type, with its message as a tooltip."""
    if record.status >= 400:
        body = record.response if isinstance(record.response, dict) else {}
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        kind, message = error.get("type") or "error", error.get("message") or ""
        return (f'<span class="kit-failed" title="{_escape(message)}">{record.status} '
                f'<span>{_escape(kind)}</span></span>')
    if record.stop_reason:
        return f'{record.status} <span>{_escape(record.stop_reason)}</span>'
    if record.kind == "count_tokens":
        return str(record.status)
    return f'{record.status} <span class="kit-usage-muted">no stop_reason</span>'


def _money(amount: float) -> str:
    """A saving as ``saved $x``, a net cost as ``cost $x more``."""
    return f"saved ${amount:.6f}" if amount >= 0 else f"cost ${-amount:.6f} more"


def _cache_cell(record: Record) -> str:
    """Cache reads and writes of one call, and what they saved against plain input; a dash without caching."""
    if not record.cache_read_input_tokens and not record.cache_creation_input_tokens:
        return "–"
    lines = (f"read {record.cache_read_input_tokens:,}", f"wrote {record.cache_creation_input_tokens:,}",
             _money(record.cache_saved_usd))
    return '<span style="font-size:90%">' + "<br>".join(_escape(line) for line in lines) + "</span>"


class UsageViewer(w.VBox):
    """Live view of the usage log; ``budget_usd`` sets a spending limit for every kit client."""

    def __init__(self, log: UsageLog = usage_log, *, budget_usd: Optional[float] = None,
                 max_tokens: Optional[int] = None, rows: int = ROWS):
        if budget_usd is not None or max_tokens is not None:
            set_budget(budget_usd, max_tokens=max_tokens)
        if rows < 1:
            raise ValueError(f"rows must be at least 1, not {rows!r}")
        self.usage = log
        self.rows = rows
        self._first: Optional[int] = None  # index of the first call shown; None follows the latest calls
        self.totals = w.HTML()
        self.gauge = w.FloatProgress(min=0.0, max=1.0, description="Context", bar_style="info",
                                     style={"description_width": "initial"}, layout=w.Layout(width="14em"))
        self.gauge_label = w.HTML(layout=w.Layout(flex="1 1 12em"))
        self.table = w.HTML()
        self.earlier_button = w.Button(description="◀ earlier", tooltip="Show earlier calls",
                                       layout=w.Layout(width="auto"))
        self.later_button = w.Button(description="later ▶", tooltip="Show later calls", layout=w.Layout(width="auto"))
        self.page_label = w.HTML()
        self.clear_button = w.Button(description="Clear log", icon="eraser", layout=w.Layout(width="auto"))
        self.earlier_button.on_click(lambda _: self._turn_page(-1))
        self.later_button.on_click(lambda _: self._turn_page(1))
        self.clear_button.on_click(lambda _: self.usage.clear())
        wrapping = dict(flex_flow="row wrap", align_items="center")
        super().__init__([
            self.totals,
            w.HBox([self.gauge, self.gauge_label], layout=w.Layout(**wrapping)),
            self.table,
            w.HBox([self.earlier_button, self.later_button, self.page_label, self.clear_button],
                   layout=w.Layout(**wrapping)),
        ])
        self.add_class("kit-usage-viewer")
        self._cache_read = self._cache_write = 0  # the log keeps the other totals
        for record in list(log.records):
            self._count_cache(record)
        self._unsubscribe = log.subscribe(self._on_record)
        self._unwatch = watch_budget(lambda _: self.update())  # a new limit shows at once, not at the next call
        self.update()

    def _count_cache(self, record: Record) -> None:
        if record.kind != "count_tokens":
            self._cache_read += record.cache_read_input_tokens
            self._cache_write += record.cache_creation_input_tokens

    def _on_record(self, record: Optional[Record]) -> None:
        if record is None:
            self._first = None  # the log was cleared
            self._cache_read = self._cache_write = 0
        else:
            self._count_cache(record)
        self.update()

    def close(self) -> None:
        if hasattr(self, "_unsubscribe"):
            self._unsubscribe()
            self._unwatch()
        super().close()

    # ---- what is shown -------------------------------------------------------------------------
    def shown_range(self) -> tuple[int, int]:
        """(first, end) indexes of the calls on the current page: the latest ``rows`` unless paged back."""
        count = len(self.usage.records)
        if self._first is None:
            return max(0, count - self.rows), count
        first = min(self._first, max(0, count - self.rows))
        return first, min(count, first + self.rows)

    def update(self) -> None:
        count = len(self.usage.records)
        first, end = self.shown_range()
        shown = self.usage.records[first:end]  # only the rows on the page are read: totals are kept by the log
        self.totals.value = self._totals_html(count, shown)
        self._update_gauge(shown)
        self.table.value = self._table_html(shown, first_number=first + 1)
        self.page_label.value = (f'<span class="kit-usage-muted">calls {first + 1}–{end} of {count}</span>'
                                 if count else "")
        self.earlier_button.disabled = first == 0
        self.later_button.disabled = end >= count
        pager = "flex" if count > self.rows else "none"
        self.earlier_button.layout.display = self.later_button.layout.display = pager

    def _turn_page(self, step: int) -> None:
        count = len(self.usage.records)
        first, _ = self.shown_range()
        first += step * self.rows
        self._first = None if first + self.rows >= count else max(0, first)
        self.update()

    def _totals_html(self, count: int, shown: list[Record]) -> str:
        limit = current_budget()
        uncached = self.usage.total_input_tokens
        parts = [f"<b>{count}</b> calls", f"<b>{uncached + self._cache_read + self._cache_write:,}</b> input tokens"]
        if self._cache_read or self._cache_write:
            parts.append(f'<span class="kit-usage-muted">({uncached:,} uncached, {self._cache_read:,} cache read, '
                         f"{self._cache_write:,} cache write)</span>")
        parts += [f"<b>{self.usage.total_output_tokens:,}</b> output tokens", f"<b>${self.usage.total_cost_usd:.6f}</b>"]
        if limit.max_usd is not None:
            parts.append(f"budget ${limit.max_usd:g} ({self.usage.total_cost_usd / limit.max_usd:.0%} used)"
                         if limit.max_usd else "budget $0")
        if limit.max_tokens is not None:
            parts.append(f"token limit {limit.max_tokens:,}")
        cached = [r for r in shown if r.cache_read_input_tokens or r.cache_creation_input_tokens]
        if cached:
            parts.append(f"prompt cache {_escape(_money(sum(r.cache_saved_usd for r in cached)))} (calls shown)")
        if any(r.offline for r in shown):
            parts.append('<span class="kit-usage-muted">offline: token counts are estimates</span>')
        items = "".join(f"<span>{part}</span>" for part in parts)
        return f'<div class="kit-usage-totals">{items}</div>'

    def _update_gauge(self, records: list[Record]) -> None:
        latest = next((r for r in reversed(records) if r.status == 200 and r.kind != "count_tokens"), None)
        entry = catalog.lookup(latest.model) if latest and latest.model else None
        if latest is None or entry is None:
            self.gauge.value = 0.0
            self.gauge_label.value = '<span class="kit-usage-muted">no call yet</span>'
            return
        used = latest.input_tokens + latest.cache_read_input_tokens + latest.cache_creation_input_tokens + latest.output_tokens
        share = min(1.0, used / entry.context_window)
        self.gauge.value = share
        self.gauge.bar_style = "danger" if share > 0.9 else ("warning" if share > 0.6 else "info")
        self.gauge_label.value = (
            f'<div class="kit-usage-totals"><span>{used:,} of {entry.context_window:,} tokens ({share:.2%})</span>'
            f'<span class="kit-usage-muted">in {_escape(entry.id)}\'s window, last call</span></div>')

    def _table_html(self, records: list[Record], first_number: int) -> str:
        if not records:
            return (f'{STYLE}<div class="kit-usage kit-usage-muted">No calls yet: calls made with a client from '
                    "connect() appear here.</div>")
        biggest = max((max(_all_input(r), r.output_tokens) for r in records), default=0) or 1
        head = "".join(f'<th class="kit-col-{name}">{title}</th>' for name, title in COLUMNS if name != "break")
        rows = []
        for number, r in enumerate(records, start=first_number):
            cells = {
                "number": str(number),
                "model": _escape(_model(r)),
                "call": f'<span class="kit-usage-muted">{_escape(r.kind)}</span>',
                "result": _result(r),
                "break": "",
                "input": f'{_all_input(r):,}<span class="kit-unit"> in</span>',
                "output": f'{r.output_tokens:,}<span class="kit-unit"> out</span>',
                "bars": _bars(r, biggest),
                "cache": _cache_cell(r),
                "time": f"{r.latency_s * 1000:,.0f} ms",
                "cost": f"${r.cost_usd:.6f}",
            }
            html_cells = "".join(f'<td class="kit-col-{name}">{cells[name]}</td>' for name, _ in COLUMNS)
            rows.append(f'<tr class="kit-usage-row">{html_cells}</tr>')
        swatch = lambda color, label: f'<span><span style="color:{color}">&#9632;</span> {label}</span>'  # noqa: E731
        keys = [swatch(INPUT_COLOR, "uncached input")]
        if any(r.cache_read_input_tokens or r.cache_creation_input_tokens for r in records):
            keys += [swatch(CACHE_READ_COLOR, "cache read"), swatch(CACHE_WRITE_COLOR, "cache write")]
        keys.append(swatch(OUTPUT_COLOR, "output tokens, per call"))
        legend = f'<div class="kit-usage-totals kit-usage-muted" style="font-size:90%">{"".join(keys)}</div>'
        return (f'{STYLE}<div class="kit-usage"><table class="kit-usage-table"><thead><tr>{head}</tr></thead>'
                f'<tbody>{"".join(rows)}</tbody></table>{legend}</div>')

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        # Shown where the widget cannot be (a notebook opened before its cells run, a static render):
        # say what this is and how to see it, rather than counts from some earlier run. The view part is the one
        # ipywidgets 7 and 8 both send.
        view = {"version_major": 2, "version_minor": 0, "model_id": self.model_id}
        return {"text/plain": PLACEHOLDER, "application/vnd.jupyter.widget-view+json": view}

    if hasattr(w.DOMWidget, "_ipython_display_"):  # ipywidgets 7 (Colab) displays through this, not the above
        def _ipython_display_(self, **kwargs: Any) -> None:
            from IPython.display import display  # noqa: PLC0415 - ipywidgets 7 only

            display(self._repr_mimebundle_(), raw=True)
            self._handle_displayed(**kwargs)

    def __repr__(self) -> str:
        return (f"UsageViewer({len(self.usage.records)} calls, {self.usage.total_input_tokens} input / "
                f"{self.usage.total_output_tokens} output tokens, ${self.usage.total_cost_usd:.6f})")
