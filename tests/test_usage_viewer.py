"""The usage viewer's page of calls, its totals, and what it does with text from outside."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest

from helpers import DEFAULT_MODEL, budget
from helpers.usage import Record, UsageLog, _seal
from helpers.usage_viewer import PLACEHOLDER, UsageViewer


@pytest.fixture(autouse=True)
def no_budget():
    budget(None)
    yield
    budget(None)


def _record(number: int, **fields) -> Record:
    values = dict(time=datetime.now(timezone.utc), path="/v1/messages", status=200, model=DEFAULT_MODEL,
                  input_tokens=10 * number, output_tokens=number, stop_reason="end_turn", cost_usd=0.001,
                  sent_at=float(number))
    values.update(fields)
    return _seal(Record(**values))  # as the kit's transport seals what it records: the log takes nothing else


def _log(count: int) -> UsageLog:
    log = UsageLog()
    for number in range(1, count + 1):
        log._add(_record(number))
    return log


def _numbers(viewer: UsageViewer) -> list[int]:
    """The call numbers in the table, top to bottom."""
    return [int(n) for n in re.findall(r'<td class="kit-col-number">(\d+)</td>', viewer.table.value)]


def test_the_latest_calls_are_shown_and_the_rest_are_paged():
    log = _log(25)
    viewer = UsageViewer(log, rows=10)
    assert _numbers(viewer) == list(range(16, 26))
    assert "calls 16–25 of 25" in viewer.page_label.value
    assert viewer.later_button.disabled and not viewer.earlier_button.disabled

    viewer.earlier_button.click()
    assert _numbers(viewer) == list(range(6, 16))
    viewer.earlier_button.click()
    assert _numbers(viewer) == list(range(1, 11)) and viewer.earlier_button.disabled

    log._add(_record(26))  # a page looked back at stays put while calls come in
    assert _numbers(viewer) == list(range(1, 11)) and "of 26" in viewer.page_label.value

    viewer.later_button.click()
    viewer.later_button.click()
    assert _numbers(viewer) == list(range(17, 27))  # back on the latest page, which follows new calls
    log._add(_record(27))
    assert _numbers(viewer) == list(range(18, 28))
    viewer.close()


def test_totals_count_every_call_not_just_the_page():
    log = _log(30)
    viewer = UsageViewer(log, rows=5)
    assert len(_numbers(viewer)) == 5
    assert "<b>30</b> calls" in viewer.totals.value
    assert f"<b>{sum(10 * n for n in range(1, 31)):,}</b> input tokens" in viewer.totals.value
    assert "<b>$0.030000</b>" in viewer.totals.value
    viewer.close()


def test_pager_is_hidden_until_there_is_more_than_one_page_and_clear_resets_it():
    log = _log(3)
    viewer = UsageViewer(log, rows=5)
    assert viewer.earlier_button.layout.display == "none"
    for number in range(4, 9):
        log._add(_record(number))
    assert viewer.earlier_button.layout.display == "flex"
    viewer.earlier_button.click()
    assert _numbers(viewer) == [1, 2, 3, 4, 5]
    viewer.clear_button.click()
    assert "No calls yet" in viewer.table.value and viewer.page_label.value == ""
    log._add(_record(1))
    assert _numbers(viewer) == [1]
    viewer.close()


def test_rows_must_be_positive():
    with pytest.raises(ValueError, match="rows must be at least 1"):
        UsageViewer(UsageLog(), rows=0)


def test_model_ids_errors_and_stop_reasons_are_escaped():
    log = UsageLog()
    hostile = '<img src=x onerror="alert(1)">'
    log._add(_record(1, model=hostile, stop_reason="<b>end</b>"))
    log._add(_record(2, status=400, model=None, stop_reason=None,
                    request_body=json.dumps({"model": "<script>bad()</script>"}).encode(),
                    response={"type": "error", "error": {"type": "invalid_<x>", "message": 'say "hi" <img>'}}))
    viewer = UsageViewer(log)
    table = viewer.table.value
    body = table.split("</style>", 1)[1]
    assert "<img" not in body and "<script" not in body and "<b>end" not in body and "<x>" not in body
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body
    assert "&lt;script&gt;bad()&lt;/script&gt;" in body  # the model asked for, when the answer names none
    assert 'title="say &quot;hi&quot; &lt;img&gt;"' in body and "400 <span>invalid_&lt;x&gt;</span>" in body
    viewer.close()


def test_token_counts_show_the_model_they_counted_for_and_no_stop_reason():
    log = UsageLog()
    log._add(_record(1, path="/v1/messages/count_tokens", model=None, stop_reason=None, output_tokens=0,
                    request_body=json.dumps({"model": DEFAULT_MODEL}).encode()))
    log._add(_record(2, streamed=True, stop_reason=None))  # a stream that broke before its message_delta
    viewer = UsageViewer(log)
    rows = viewer.table.value.split('<tr class="kit-usage-row">')[1:]
    assert f'<td class="kit-col-model">{DEFAULT_MODEL}</td>' in rows[0]
    assert '<td class="kit-col-result">200</td>' in rows[0]
    assert "no stop_reason" in rows[1] and ">stream<" in rows[1]
    viewer.close()


def test_where_the_widget_cannot_show_it_says_how_to_see_it():
    viewer = UsageViewer(_log(2))
    bundle = viewer._repr_mimebundle_()
    assert bundle["text/plain"] == PLACEHOLDER
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == viewer.model_id
    assert repr(viewer).startswith("UsageViewer(2 calls")
    viewer.close()


def test_totals_and_bars_count_what_the_cache_read_and_wrote():
    log = UsageLog()
    log._add(_record(1, input_tokens=40, cache_creation_input_tokens=2000, output_tokens=5))
    log._add(_record(2, input_tokens=40, cache_read_input_tokens=2000, output_tokens=5))
    log._add(_record(3, path="/v1/messages/count_tokens", input_tokens=2040, output_tokens=0, stop_reason=None))
    viewer = UsageViewer(log)
    # Billed input is 4,080 tokens, not the 80 uncached ones; a token count is no input.
    assert "<b>4,080</b> input tokens" in viewer.totals.value
    assert "(80 uncached, 2,000 cache read, 2,000 cache write)" in viewer.totals.value
    assert '<td class="kit-col-input">2,040<span class="kit-unit"> in</span>' in viewer.table.value
    assert "40 uncached input, 2000 cache read, 0 cache write / 5 out" in viewer.table.value
    assert "cache read" in viewer.table.value and "cache write" in viewer.table.value  # the legend names them
    # A viewer made later counts what was already in the log, and a new call adds to it.
    log._add(_record(4, input_tokens=10, cache_read_input_tokens=500, output_tokens=1))
    assert "<b>4,590</b> input tokens" in viewer.totals.value and "<b>4,590</b>" in UsageViewer(log).totals.value
    log.clear()
    assert "<b>0</b> input tokens" in viewer.totals.value
    viewer.close()


def test_the_budget_line_redraws_when_the_limit_changes_without_a_call():
    log = _log(3)
    viewer = UsageViewer(log, budget_usd=0.002)
    assert "budget $0.002 (150% used)" in viewer.totals.value
    budget(None)
    assert "budget" not in viewer.totals.value
    budget(0.01)
    assert "budget $0.01 (30% used)" in viewer.totals.value
    viewer.close()
    budget(0.02)  # a closed viewer no longer listens
    assert "budget $0.01" in viewer.totals.value
