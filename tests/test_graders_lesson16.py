"""Lesson 16 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import pytest

from grading_support import last_hint_code
from helpers import check, usage_log

LESSON = "16_citations_and_files.ipynb"
SHOW, MISQUOTED, FILE = "cell-25", "cell-27", "cell-29"


def test_the_exercise_cells_are_where_the_tests_look():
    from notebooks_support import NOTEBOOKS, load, source

    cells = {c["id"]: source(c) for c in load(NOTEBOOKS / LESSON)["cells"]}
    assert "check.lesson16.show_with_sources(" in cells[SHOW]
    assert "check.lesson16.misquoted(" in cells[MISQUOTED]
    assert "check.lesson16.file_turn(" in cells[FILE]


# 16.1 a reply's text with numbered citations and the spans they quote

SHOW_RIGHT = """parts, sources = [], []
for block in message.content:
    if block.type != "text":
        continue
    parts.append(block.text)
    for citation in block.citations or []:
        sources.append(citation)
        parts.append(f"[{len(sources)}]")
lines = ["".join(parts), ""]
for n, c in enumerate(sources, start=1):
    title = c.title if c.type == "search_result_location" else c.document_title
    lines.append(f'[{n}] "{c.cited_text}"' + (f" ({title})" if title else ""))
return "\\n".join(lines)"""

SHOW_BY_DUMPING = """text, notes = "", []
for block in message.model_dump()["content"]:
    if block["type"] == "text":
        text += block["text"]
        for c in block.get("citations") or []:
            notes.append(f"  [{len(notes) + 1}] {c.get('document_title') or c.get('title') or 'untitled'}: "
                         f"{' '.join(c['cited_text'].split())}")
            text += f" [{len(notes)}]"
return text + "\\n\\nSources:\\n" + "\\n".join(notes)"""


@pytest.mark.parametrize("body", [SHOW_RIGHT, SHOW_BY_DUMPING])
def test_show_with_sources_right_answers_pass(learner, body):
    result = learner.answer(SHOW, body)
    assert result.passed, result
    assert "as it is" in result.message


@pytest.mark.parametrize("lazy, words", [
    ('return "".join(b.text for b in message.content if b.type == "text")', "no line that starts with the marker"),
    ("return message.content[0].text", "has no attribute|not in what you return"),  # a thinking block, or one block
    ("return str(message)", "thinking|not in what you return|marker"),
    (SHOW_RIGHT.replace('if block.type != "text":', 'if block.type not in ("text", "thinking"):')
     .replace("parts.append(block.text)", "parts.append(getattr(block, 'text', '') or block.thinking)")
     .replace("block.citations or []", "getattr(block, 'citations', None) or []"),
     "thinking"),
    (SHOW_RIGHT.replace('f\'[{n}] "{c.cited_text}"\'', 'f\'[{n}] "{html.escape(c.cited_text)}"\'')
     .replace("parts, sources", "import html\nparts, sources"), "escaped"),
    (SHOW_RIGHT.replace('return "\\n".join(lines)',
                        'from IPython.display import HTML\nreturn HTML("<br>".join(lines))'),
     "returned a HTML"),
    (SHOW_RIGHT.replace("title = c.title if c.type == \"search_result_location\" else c.document_title",
                        "title = c.document_title"), "has no attribute"),
    (SHOW_RIGHT.replace(' + (f" ({title})" if title else "")', ""), "does not name its source"),
    # markers numbered per block, from 1 each time
    (SHOW_RIGHT.replace("for citation in block.citations or []:",
                        "for k, citation in enumerate(block.citations or []):")
     .replace('parts.append(f"[{len(sources)}]")', 'parts.append(f"[{k + 1}]")'), "marker"),
    # every marker at the end of the text, not after its block
    (SHOW_RIGHT.replace('parts.append(f"[{len(sources)}]")', "pass")
     .replace('lines = ["".join(parts), ""]', 'lines = ["".join(parts) + "".join(f"[{n}]" for n in '
              'range(1, len(sources) + 1)), ""]'), "right after the text block"),
])
def test_show_with_sources_lazy_and_wrong_answers_are_refused(learner, lazy, words):
    result = learner.answer(SHOW, lazy)
    assert not result.passed and any(w in result.message for w in words.split("|")), result


def test_show_with_sources_unsolved_and_pasting_the_last_hint(learner):
    assert "returned None" in learner.answer(SHOW).message
    entry = last_hint_code("16.1", "f\"[{n}]")  # one entry's line, not the whole function
    result = learner.answer(SHOW, f"n, c = 1, message.content[-1].citations[0]\nreturn {entry}")
    assert not result.passed, result


# 16.2 citations checked against the documents sent

MISQUOTED_RIGHT = """wrong = []
for block in message.content:
    if block.type == "text":
        for c in block.citations or []:
            if documents[c.document_index][c.start_char_index:c.end_char_index] != c.cited_text:
                wrong.append(c)
return wrong"""

MISQUOTED_BY_POSITION = """cited = [c for b in message.content if b.type == "text" for c in (b.citations or [])]
held = {id(c) for c in cited if documents[c.document_index].find(c.cited_text, c.start_char_index)
        == c.start_char_index and len(c.cited_text) == c.end_char_index - c.start_char_index}
return tuple(c for c in cited if id(c) not in held)"""


@pytest.mark.parametrize("body", [MISQUOTED_RIGHT, MISQUOTED_BY_POSITION])
def test_misquoted_right_answers_pass(learner, body):
    result = learner.answer(MISQUOTED, body)
    assert result.passed, result
    assert "none of those that hold" in result.message


@pytest.mark.parametrize("lazy, words", [
    ("return []", "did not return it"),
    ("return [c for b in message.content if b.type == 'text' for c in b.citations]", "it holds"),
    # the quote found somewhere in its document, or in any document
    (MISQUOTED_RIGHT.replace("documents[c.document_index][c.start_char_index:c.end_char_index] != c.cited_text",
                             "c.cited_text not in documents[c.document_index]"), "did not return it"),
    (MISQUOTED_RIGHT.replace("documents[c.document_index][c.start_char_index:c.end_char_index] != c.cited_text",
                             "c.cited_text not in ''.join(documents)"), "did not return it"),
    (MISQUOTED_RIGHT.replace("documents[c.document_index]", "documents[0]"), "misquoted"),
    (MISQUOTED_RIGHT.replace("c.end_char_index]", "c.end_char_index + 1]"), "it holds"),
    ("return message.content[0].citations", "has no attribute|did not return it|it holds"),
    ("return {'wrong': []}", "returned a dict"),
])
def test_misquoted_lazy_and_wrong_answers_are_refused(learner, lazy, words):
    result = learner.answer(MISQUOTED, lazy)
    assert not result.passed and any(w in result.message for w in words.split("|")), result


def test_misquoted_unsolved(learner):
    assert "returned None" in learner.answer(MISQUOTED).message


# 16.3 a file uploaded once and sent by its id, with citations on

UPLOAD = 'uploaded = client.files.upload(file=(file_task.filename, file_task.text.encode(), "text/plain"))\n'
DOCUMENT = ('document = {"type": "document", "source": {"type": "file", "file_id": uploaded.id}, '
            '"citations": {"enabled": True}}\n')
SEND = ('file_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=400, messages=[{"role": "user", '
        '"content": [document, {"type": "text", "text": "When does the shed open?"}]}])\n')
FILE_RIGHT = UPLOAD + DOCUMENT + SEND
FILE_STREAMED = (UPLOAD + DOCUMENT.replace("}}\n", '}, "title": "Notices"}\n') + """
with client.messages.stream(model=DEFAULT_MODEL, max_tokens=400, system="Answer from the notices.",
                            messages=[{"role": "user", "content": [document, "Which gate is locked?"]}]) as stream:
    file_reply = stream.get_final_message()
""").replace('[document, "Which gate is locked?"]', '[document, {"type": "text", "text": "Which gate is locked?"}]')


@pytest.mark.parametrize("body", [FILE_RIGHT, FILE_STREAMED])
def test_file_turn_right_answers_pass(learner, body):
    result = learner.answer(FILE, body)
    assert result.passed, result
    assert "named by id the file you uploaded in this run" in result.message


INLINE = ('document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", '
          '"data": file_task.text}, "citations": {"enabled": True}}\n')


@pytest.mark.parametrize("lazy, words", [
    (INLINE + SEND, "sent the document's content itself"),
    (UPLOAD + INLINE + SEND, "sent the document's content itself"),
    (FILE_RIGHT.replace(', "citations": {"enabled": True}', ""), "does not turn citations on"),
    (FILE_RIGHT.replace('{"type": "text", "text": "When does the shed open?"}', ""),
     "asked nothing"),
    # another file than this run's: its own name, or other bytes under this run's name
    (FILE_RIGHT.replace("file_task.filename", '"notes.txt"'), "this run drew"),
    (FILE_RIGHT.replace("file_task.text.encode()", 'b"Something else."'), "this run drew"),
    # the request names one file, the grader is given another
    (FILE_RIGHT + 'uploaded = client.files.upload(file=(file_task.filename, file_task.text.encode(), "text/plain"))',
     "not the file you uploaded"),
    (FILE_RIGHT + "client.files.delete(uploaded.id)", "has no file"),
    (FILE_RIGHT + "uploaded = uploaded.id", "pass the upload's metadata"),
    (FILE_RIGHT.replace('"text": "When does the shed open?"}]}])',
                        '"text": "When?"}, {"type": "document", "source": {"type": "text", "media_type": '
                        '"text/plain", "data": file_task.text}, "citations": {"enabled": True}}]}])'),
     "also sent content inline"),
])
def test_file_turn_lazy_and_wrong_answers_are_refused(learner, lazy, words):
    result = learner.answer(FILE, lazy)
    assert not result.passed and words in result.message, result


def test_file_turn_unsolved_and_a_reply_from_before_the_attempt(learner):
    assert "`file_reply` is None" in learner.answer(FILE).message
    learner.run("file_task = check.lesson16.file_task()\n" + FILE_RIGHT)
    result = learner.answer(FILE, "file_reply, uploaded = file_reply, uploaded")
    assert not result.passed, result  # the cell draws a new file, and the reply came before its attempt


def test_file_turn_asks_for_the_file_where_the_request_went(learner, monkeypatch):
    # A key in the environment would make connect() live; this learner's client is offline on purpose.
    monkeypatch.setenv("ANTHROPIC_API_KEY", "kit-lesson16-sentinel")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("KIT_MODE", raising=False)
    result = learner.answer(FILE, 'client = connect("offline", quiet=True)\n' + FILE_RIGHT)
    assert result.passed, result


def test_file_turn_a_file_of_an_earlier_run_is_refused(learner):
    learner.run("file_task = check.lesson16.file_task(seed=1)\n" + UPLOAD + "old = uploaded")
    result = learner.answer(FILE, "uploaded = old\n" + DOCUMENT + SEND)
    assert not result.passed and "this run drew" in result.message, result


# shared

def test_the_same_seed_draws_the_same_cases_and_another_seed_others():
    seen = []

    def recording(message, documents):
        seen.append((tuple(documents), message.model_dump_json()))
        return [c for b in message.content if b.type == "text" for c in b.citations
                if documents[c.document_index][c.start_char_index:c.end_char_index] != c.cited_text]

    assert check.lesson16.misquoted(recording, seed=5).passed
    first_run, seen[:] = list(seen), []
    assert check.lesson16.misquoted(recording, seed=5).passed
    assert seen == first_run
    seen.clear()
    assert check.lesson16.misquoted(recording, seed=6).passed
    assert seen != first_run
    assert str(check.lesson16.file_task(seed=3)) == str(check.lesson16.file_task(seed=3))


def test_every_seed_draws_a_case_of_each_kind():
    from helpers.check import lesson16

    for seed in range(40):
        rng, _ = check.draw(seed)
        message = lesson16._reply_with_sources(rng, seed % 2 == 0)
        kinds = {c.type for b in message.content if b.type == "text" for c in b.citations or []}
        assert kinds == set(lesson16.KINDS)
        documents = lesson16._documents(rng)
        reply, bad = lesson16._checked_reply(rng, documents)
        cited = [c for b in reply.content if b.type == "text" for c in b.citations]
        assert len(bad) == 3 and len(cited) > 3 and {c.document_index for c in cited} == {0, 1, 2}


def test_graders_leave_the_usage_log_alone():
    before = len(usage_log)
    check.lesson16.show_with_sources(lambda message: "")
    check.lesson16.misquoted(lambda message, documents: [])
    assert len(usage_log) == before


def test_the_kits_functions_are_refused():
    from helpers import catalog

    assert "kit's own" in check.lesson16.show_with_sources(catalog.models).message
    assert "kit's own" in check.lesson16.misquoted(catalog.models).message


def test_hints_are_opt_in_and_numbered():
    for exercise in ("16.1", "16.2", "16.3"):
        assert check.hint(exercise).total == 2
