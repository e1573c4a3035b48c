"""``UsageViewer``: watch what every call costs, live, from ``helpers.usage_log``.

A table of calls, running totals (tokens and dollars), bars of input vs output
tokens per call, the prompt cache's reads and writes per call with the money they
saved (or cost: a write is dearer than plain input), and a gauge of how full the
latest call's context window was.
It updates as calls happen, without re-running the cell.
"""

from __future__ import annotations

from typing import Optional

import ipywidgets as w

from . import catalog
from .budget import budget as set_budget
from .budget import current as current_budget
from .usage import Record, UsageLog, usage_log

TABLE_ROWS = 50
BAR_WIDTH_PX = 110
INPUT_COLOR, OUTPUT_COLOR = "#5c6bc0", "#ef6c00"
CELL = "padding:2px 6px;text-align:left"


def _bars(record: Record, biggest: int) -> str:
    """Input and output tokens of one call as two bars, on the scale of the largest call shown."""
    width_in = round(BAR_WIDTH_PX * record.input_tokens / biggest)
    width_out = round(BAR_WIDTH_PX * record.output_tokens / biggest)
    return (f'<div title="{record.input_tokens} in / {record.output_tokens} out" style="width:{BAR_WIDTH_PX}px">'
            f'<div style="background:{INPUT_COLOR};height:6px;width:{width_in}px"></div>'
            f'<div style="background:{OUTPUT_COLOR};height:6px;width:{width_out}px;margin-top:1px"></div></div>')


def _escape(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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

    def __init__(self, log: UsageLog = usage_log, *, budget_usd: Optional[float] = None, max_tokens: Optional[int] = None):
        if budget_usd is not None or max_tokens is not None:
            set_budget(budget_usd, max_tokens=max_tokens)
        self.usage = log
        self.totals = w.HTML()
        self.gauge = w.FloatProgress(min=0.0, max=1.0, description="Context", bar_style="info")
        self.gauge_label = w.Label()
        self.table = w.HTML()
        self.clear_button = w.Button(description="Clear log", icon="eraser")
        self.clear_button.on_click(lambda _: self.usage.clear())
        super().__init__([
            self.totals,
            w.HBox([self.gauge, self.gauge_label]),
            self.table,
            self.clear_button,
        ])
        self.add_class("kit-usage-viewer")
        self._unsubscribe = log.subscribe(self._on_record)
        self.update()

    def _on_record(self, record: Optional[Record]) -> None:
        self.update()

    def close(self) -> None:
        if hasattr(self, "_unsubscribe"):
            self._unsubscribe()
        super().close()

    def update(self) -> None:
        count = len(self.usage.records)
        recent = self.usage.records[-TABLE_ROWS:]  # the table shows the latest calls; totals are kept by the log
        self.totals.value = self._totals_html(count, recent)
        self._update_gauge(recent)
        self.table.value = self._table_html(recent, first_number=max(1, count - TABLE_ROWS + 1))

    def _totals_html(self, count: int, recent: list[Record]) -> str:
        limit = current_budget()
        parts = [f"<b>{count}</b> calls", f"<b>{self.usage.total_input_tokens:,}</b> input tokens",
                 f"<b>{self.usage.total_output_tokens:,}</b> output tokens", f"<b>${self.usage.total_cost_usd:.6f}</b>"]
        if limit.max_usd is not None:
            parts.append(f"budget ${limit.max_usd:g} ({self.usage.total_cost_usd / limit.max_usd:.0%} used)" if limit.max_usd else "budget $0")
        if limit.max_tokens is not None:
            parts.append(f"token limit {limit.max_tokens:,}")
        cached = [r for r in recent if r.cache_read_input_tokens or r.cache_creation_input_tokens]
        if cached:
            parts.append(f"prompt cache {_escape(_money(sum(r.cache_saved_usd for r in cached)))} (calls shown)")
        if any(r.offline for r in recent):
            parts.append("offline calls: token counts are estimates")
        return '<div class="kit-usage-totals">' + " · ".join(parts) + "</div>"

    def _update_gauge(self, records: list[Record]) -> None:
        latest = next((r for r in reversed(records) if r.status == 200 and r.kind != "count_tokens"), None)
        entry = catalog.lookup(latest.model) if latest and latest.model else None
        if latest is None or entry is None:
            self.gauge.value, self.gauge_label.value = 0.0, "no call yet"
            return
        used = latest.input_tokens + latest.cache_read_input_tokens + latest.cache_creation_input_tokens + latest.output_tokens
        share = min(1.0, used / entry.context_window)
        self.gauge.value = share
        self.gauge.bar_style = "danger" if share > 0.9 else ("warning" if share > 0.6 else "info")
        self.gauge_label.value = f"{used:,} of {entry.context_window:,} tokens ({share:.2%}) in {entry.id}'s context window"

    def _table_html(self, records: list[Record], first_number: int) -> str:
        biggest = max((max(r.input_tokens, r.output_tokens) for r in records), default=0) or 1
        head = "".join(f"<th style='{CELL}'>{h}</th>" for h in
                       ("#", "call", "model", "status", "stop_reason", "input", "output", "tokens", "cache", "latency",
                        "cost"))
        rows = []
        for number, r in enumerate(records, start=first_number):
            cells = [_escape(c) for c in (number, r.kind, r.model or "", r.status, r.stop_reason or "",
                                          f"{r.input_tokens:,}", f"{r.output_tokens:,}")]
            cells += [_bars(r, biggest), _cache_cell(r), _escape(f"{r.latency_s * 1000:.0f} ms"),
                      _escape(f"${r.cost_usd:.6f}")]
            html = "".join(f"<td style='{CELL}'>{c}</td>" for c in cells)
            rows.append(f'<tr class="kit-usage-row">{html}</tr>')
        body = "".join(rows) or '<tr><td colspan="11">No calls yet: calls made with a client from connect() appear here.</td></tr>'
        legend = (f'<div style="font-size:90%"><span style="color:{INPUT_COLOR}">&#9632;</span> input tokens &nbsp; '
                  f'<span style="color:{OUTPUT_COLOR}">&#9632;</span> output tokens, per call</div>')
        return f'<table class="kit-usage-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{legend}'

    def __repr__(self) -> str:
        return (f"UsageViewer({len(self.usage.records)} calls, {self.usage.total_input_tokens} input / "
                f"{self.usage.total_output_tokens} output tokens, ${self.usage.total_cost_usd:.6f})")
