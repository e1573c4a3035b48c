"""How a grader's result shows: plain text for nbval and consoles, escaped HTML for notebooks."""

from __future__ import annotations

from IPython.core.formatters import DisplayFormatter

from helpers.check import Result


def _formats(result: Result) -> dict:
    data, _ = DisplayFormatter().format(result)
    return data


def test_plain_text_is_the_mark_the_exercise_and_the_message():
    assert _formats(Result("03.1 few-shot", True, "two pairs"))["text/plain"] == "✅ Correct (03.1 few-shot): two pairs"
    assert _formats(Result("03.2 fix", False, "send it"))["text/plain"] == "❌ Not yet (03.2 fix): send it"


def test_html_escapes_everything_a_message_can_quote():
    hostile = Result('<i>ex</i>', False, 'you sent \'<img src=x onerror="alert(1)">\' & `<b>`')
    rich = _formats(hostile)["text/html"]
    assert "<img" not in rich and "<i>" not in rich and "<b>`" not in rich
    assert "&lt;i&gt;ex&lt;/i&gt;" in rich
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in rich and "&amp;" in rich
    assert "<code>&lt;b&gt;</code>" in rich  # a code span holds escaped text


def test_html_shows_code_spans_and_says_which_outcome():
    rich = _formats(Result("05.1 handle", True, "`handle(message)` returned `\"done\"` for `end_turn`"))["text/html"]
    assert rich.count("<code>") == 3 and "<code>handle(message)</code>" in rich
    assert "Correct" in rich and "Not yet" not in rich
    assert "Not yet" in _formats(Result("05.1 handle", False, "x"))["text/html"]


def test_a_hint_shows_as_escaped_html_and_names_the_next_hint():
    from helpers.check import Hint

    data, _ = DisplayFormatter().format(Hint("04.1", 1, 2, "prefill with '<script>x</script>' & see"))
    assert data["text/plain"].startswith("💡 Hint 1 of 2 (04.1): ")
    rich = data["text/html"]
    assert "<script>" not in rich and "&lt;script&gt;" in rich
    assert '<code>check.hint(&quot;04.1&quot;, 2)</code>' in rich
