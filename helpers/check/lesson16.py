"""Graders for lesson 16: a reply shown with its sources, citations checked against the documents sent, and a
file uploaded once and sent by its id with citations on.

Citations as the API documents them (https://platform.claude.com/docs/en/build-with-claude/citations,
https://platform.claude.com/docs/en/build-with-claude/search-results): a cited text block carries ``citations``,
each with the ``cited_text`` it quotes and where it is: ``char_location`` (characters of a plain-text document,
``start_char_index`` from 0, ``end_char_index`` exclusive), ``page_location`` (pages of a PDF, from 1, end
exclusive), ``content_block_location`` (blocks of a custom-content document) or ``search_result_location``.
Files (https://platform.claude.com/docs/en/build-with-claude/files): ``client.files.upload`` returns the file's
metadata; a document block names it with ``source: {"type": "file", "file_id": ...}``.
"""

from __future__ import annotations

import html
import random
import re
import string
from dataclasses import dataclass
from typing import Any, Optional

import anthropic

from ..sample_documents import GARDEN_HANDBOOK
from . import correct, draw, grader, kit_function, logged, not_yet

HINTS = {
    "16.1": (
        "Go through `message.content` by block type: skip anything that is not `\"text\"`, add each text block's "
        "`text`, then a marker such as `[1]` for each of its `citations` (a block may have none: `citations` is "
        "None). Number the citations from 1 in the order you meet them, and keep them in a list for the end.",
        "Section 3 prints each citation's `cited_text` and where it is. After the text, add one entry per "
        "citation, each on a new line starting with its marker: `f\"[{n}] \\\"{c.cited_text}\\\"\"`, plus the "
        "source's title: `c.document_title` for a document, `c.title` for a search result. Build a plain string "
        "and return it; never HTML or Markdown, and never escape the text.",
    ),
    "16.2": (
        "A `char_location` citation says where its text is: `documents[c.document_index][c.start_char_index:"
        "c.end_char_index]`. It holds when that slice is exactly `c.cited_text`.",
        "Section 4 checks one citation that way. Do it for every citation of every text block (read by type), "
        "and return the list of those whose slice differs. Finding the text somewhere in a document is not "
        "enough: a quote at the wrong place, or in another document, is a wrong citation.",
    ),
    "16.3": (
        "Upload the bytes of this run's file with `client.files.upload(file=(file_task.filename, "
        "file_task.text.encode(), \"text/plain\"))` and keep what it returns: its `.id` is the file's id.",
        "Section 6 sends a document by id: `{\"type\": \"document\", \"source\": {\"type\": \"file\", \"file_id\": "
        "uploaded.id}, \"citations\": {\"enabled\": True}}`, then a text block with your question, in one user "
        "turn. Pass the reply and the upload's metadata to the grader.",
    ),
}

TITLES = ("Fees", "Water", "Compost", "Tools", "Plots", "Pond", "Orchard", "Seeds", "Paths", "Sheds", "Bees", "Rota")
MARKUP = ("<b>bold</b>", "<script>alert(1)</script>", "**not bold**", "&amp;", "<img src=x>", "[a](http://x)",
          "`code`", "$x$")
"""Pieces of markup drawn into the quoted texts: a function that renders or escapes them changes what is shown."""


def _sentences() -> list[str]:
    prose = " ".join(line for line in GARDEN_HANDBOOK.splitlines() if line and not line.startswith("#"))
    found = (s.strip() for s in re.findall(r"[^.!?]+[.!?]", prose))
    return [s + " " for s in found if len(s.split()) >= 5 and s[0].isupper()]


SENTENCES = _sentences()


def _token(rng: random.Random, length: int = 6) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(length))


def _message(content: list[dict], model: str = "made-up-model") -> anthropic.types.Message:
    return anthropic.types.Message.model_validate({
        "id": "msg_01madeup", "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 900, "output_tokens": 120}})


# --- 16.1 ---------------------------------------------------------------------------------------------------------

def _cited(rng: random.Random, kind: str, markup: str) -> dict:
    text = f"{rng.choice(SENTENCES).strip()} {markup} ({_token(rng)})"
    index = rng.randrange(0, 6)
    title = f"{rng.choice(TITLES)} {_token(rng, 4)}" if kind == "search_result_location" or rng.random() < 0.7 \
        else None
    if kind == "char_location":
        start = rng.randrange(0, 4000)
        return {"type": kind, "cited_text": text, "document_index": index, "document_title": title,
                "start_char_index": start, "end_char_index": start + len(text), "file_id": None}
    if kind == "page_location":
        page = rng.randrange(1, 30)
        return {"type": kind, "cited_text": text, "document_index": index, "document_title": title,
                "start_page_number": page, "end_page_number": page + rng.randrange(1, 3), "file_id": None}
    if kind == "content_block_location":
        block = rng.randrange(0, 8)
        return {"type": kind, "cited_text": text, "document_index": index, "document_title": title,
                "start_block_index": block, "end_block_index": block + 1, "file_id": None}
    return {"type": kind, "cited_text": text, "search_result_index": index, "title": title,
            "source": f"https://example.com/{_token(rng)}", "start_block_index": 0, "end_block_index": 1}


KINDS = ("char_location", "page_location", "content_block_location", "search_result_location")


def _reply_with_sources(rng: random.Random, thinking: bool) -> anthropic.types.Message:
    """A made-up reply: a thinking block first if asked, text blocks with and without citations, every kind cited."""
    content: list[dict] = []
    if thinking:
        content.append({"type": "thinking", "thinking": f"Thinking {_token(rng, 10)}.", "signature": _token(rng)})
    kinds = list(KINDS) + rng.sample(KINDS, 2)
    rng.shuffle(kinds)
    content.append({"type": "text", "text": f"Here is what I found ({_token(rng)}).", "citations": None})
    tags = [m for m in MARKUP if "<" in m or "&" in m]
    markup = [rng.choice(tags)] + [rng.choice(MARKUP) for _ in kinds[1:]]  # always a tag an escape would change
    rng.shuffle(markup)
    while kinds:
        take = [(kinds.pop(), markup.pop()) for _ in range(min(len(kinds), rng.choice((1, 1, 2))))]
        content.append({"type": "text", "text": f" {rng.choice(SENTENCES).strip()} ({_token(rng)})",
                        "citations": [_cited(rng, kind, piece) for kind, piece in take]})
        if rng.random() < 0.4:
            content.append({"type": "text", "text": f" And {_token(rng)}.", "citations": None})
    return _message(content)


def _normal(text: str) -> str:
    return " ".join(text.split())


def _title(citation: Any) -> Optional[str]:
    return citation.title if citation.type == "search_result_location" else citation.document_title


def _display_problem(got: Any, message: anthropic.types.Message) -> Optional[str]:
    if not isinstance(got, str):
        return (f"show_with_sources() returned a {type(got).__name__}: return the plain text as a `str` (print it "
                "to show it), never HTML or Markdown to render.")
    thinking = [b.thinking for b in message.content if b.type == "thinking"]
    if any(t and t in got for t in thinking):
        return "the text shows the reply's thinking: show only the text blocks (read each block's `.type`)."
    texts = [b for b in message.content if b.type == "text"]
    spans, at = [], 0
    for block in texts:
        found = got.find(block.text, at)
        if found < 0:
            return (f"the text of a reply's block ({block.text.strip()!r}) is not in what you return, in its place: "
                    "add every text block's `text`, in order, as it is.")
        spans.append((found, found + len(block.text)))
        at = found + len(block.text)
    citations = [(i, c) for i, b in enumerate(texts) for c in (b.citations or [])]
    starts = {}
    for n in range(1, len(citations) + 1):
        entry = re.compile(rf"^[ \t]*\[{n}\]", re.MULTILINE).search(got, at)
        if entry is None:
            return (f"after the text there is no line that starts with the marker [{n}]: list each citation on a "
                    "line of its own, from [1], in the order the markers appear.")
        starts[n] = entry.start()
    ends = {n: starts.get(n + 1, len(got)) for n in starts}
    list_start = starts[1] if starts else len(got)
    for n, (i, citation) in enumerate(citations, start=1):
        region = got[spans[i][1]:spans[i + 1][0] if i + 1 < len(spans) else list_start]
        if f"[{n}]" not in region:
            return (f"the marker [{n}] is not right after the text block its citation belongs to: put each "
                    "block's markers after its text, numbered from 1 in the order the citations come.")
        entry = got[starts[n]:ends[n]]
        if _normal(citation.cited_text) not in _normal(entry):
            escaped = _normal(citation.cited_text) in _normal(html.unescape(entry))
            shown = "escaped" if escaped else "changed or left out"
            return (f"the entry [{n}] does not quote its citation's `cited_text` ({citation.cited_text!r}), as it "
                    f"is: it was {shown}. Plain text is shown as it is: don't escape it, and don't render it.")
        title = _title(citation)
        if title and title not in entry:
            return (f"the entry [{n}] does not name its source, {title!r}: add `document_title` (a document) or "
                    "`title` (a search result) when there is one.")
    return None


@grader("16.1 a reply's text with numbered citations and the spans they quote")
def show_with_sources(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("define `show_with_sources(message)` and pass the function itself: "
                       "`check.lesson16.show_with_sources(show_with_sources)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `show_with_sources(message)` yourself.")
    rng, seed = draw(seed)
    runs = [_reply_with_sources(rng, thinking) for thinking in (True, rng.random() < 0.5, False)]
    rng.shuffle(runs)
    for message in runs:
        try:
            got = function(message)
        except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
            return not_yet(f"show_with_sources() raised {type(error).__name__}: {error} (seed {seed}). A citation's "
                           "fields depend on its `type`; every kind has `cited_text`.")
        if got is None:  # unsolved: the same words on every run
            return not_yet("show_with_sources() returned None: return the text to show, as a `str`.")
        problem = _display_problem(got, message)
        if problem:
            return not_yet(f"{problem} (seed {seed})")
    return correct(f"on {len(runs)} replies made up for this run (citations of all four location types, quotes "
                   "holding markup, one reply opening with a thinking block), show_with_sources() returned plain "
                   "text with every text block in order, each citation's marker after its block, and a list quoting "
                   "each `cited_text` as it is, with its source's title.")


# --- 16.2 ---------------------------------------------------------------------------------------------------------

def _documents(rng: random.Random) -> list[str]:
    return [" ".join(s.strip() for s in rng.sample(SENTENCES, rng.randrange(4, 8))) + " " for _ in range(3)]


def _true(rng: random.Random, documents: list[str], index: int) -> dict:
    start, end = rng.choice([m.span() for m in re.finditer(r"[^.!?]+[.!?] ", documents[index])])
    return {"type": "char_location", "cited_text": documents[index][start:end], "document_index": index,
            "document_title": None, "start_char_index": start, "end_char_index": end, "file_id": None}


def _holds(citation: dict, documents: list[str]) -> bool:
    at = documents[citation["document_index"]]
    return at[citation["start_char_index"]:citation["end_char_index"]] == citation["cited_text"]


def _falsified(rng: random.Random, documents: list[str], how: str) -> dict:
    """A citation that does not hold, made ``how``: shifted, put in another document, or with a word changed."""
    while True:
        index = rng.randrange(len(documents))
        good = _true(rng, documents, index)
        if how == "shifted":  # the quote is in the document, but not at these indexes
            shift = rng.choice((1, 2, 5)) if good["start_char_index"] < 5 else rng.choice((-3, -1, 1, 2, 5))
            bad = {**good, "start_char_index": good["start_char_index"] + shift,
                   "end_char_index": good["end_char_index"] + shift}
        elif how == "other document":  # the right indexes, in the wrong document
            bad = {**good, "document_index": rng.choice([i for i in range(len(documents)) if i != index])}
        else:
            words = good["cited_text"].split()
            at = rng.randrange(len(words))
            words[at] = rng.choice([w for w in ("never", "always", "twice", "forty") if w != words[at]])
            bad = {**good, "cited_text": " ".join(words) + " "}
        if not _holds(bad, documents):
            return bad


def _checked_reply(rng: random.Random, documents: list[str]) -> tuple[anthropic.types.Message, list[dict]]:
    citations = [("ok", _true(rng, documents, i)) for i in range(len(documents))]
    citations += [("ok", _true(rng, documents, rng.randrange(len(documents)))) for _ in range(rng.randrange(0, 3))]
    citations += [("bad", _falsified(rng, documents, how)) for how in ("shifted", "other document", "altered")]
    rng.shuffle(citations)
    content: list[dict] = []
    if rng.random() < 0.6:
        content.append({"type": "thinking", "thinking": "Reading the documents.", "signature": _token(rng)})
    while citations:
        take = [citations.pop() for _ in range(min(len(citations), rng.choice((1, 2))))]
        content.append({"type": "text", "text": f"Point {_token(rng)}.", "citations": [c for _, c in take]})
        for flag, citation in take:
            citation["_bad"] = flag == "bad"
    bad = [dict(c) for b in content if b["type"] == "text" for c in b["citations"] if c.pop("_bad")]
    return _message(content), bad


def _key(citation: Any) -> Optional[tuple]:
    get = citation.get if isinstance(citation, dict) else (lambda k, d=None: getattr(citation, k, d))
    if get("type") != "char_location":
        return None
    return get("document_index"), get("start_char_index"), get("end_char_index"), get("cited_text")


def _misquote_problem(got: Any, message: anthropic.types.Message, documents: list[str], bad: list[dict]
                      ) -> Optional[str]:
    if isinstance(got, (str, bytes, dict)) or not isinstance(got, (list, tuple, set)):
        return (f"misquoted() returned a {type(got).__name__}: return a list of the citations that do not hold "
                "(an empty list when all of them do).")
    keys = [_key(c) for c in got]
    if None in keys:
        return "misquoted() should return citations from the reply (its `char_location` citations), as they are."
    wanted = {_key(c) for c in bad}
    for citation in bad:
        if _key(citation) not in keys:
            index, start, end = citation["document_index"], citation["start_char_index"], citation["end_char_index"]
            at = documents[index][start:end]
            return (f"a citation of document {index} quotes {citation['cited_text']!r}, but characters {start} to "
                    f"{end} of that document are {at!r}, and misquoted() did not return it. Compare the slice "
                    "`documents[c.document_index][c.start_char_index:c.end_char_index]` with `c.cited_text`.")
    for key in keys:
        if key not in wanted:
            return (f"misquoted() returned a citation of document {key[0]} (characters {key[1]} to {key[2]}) whose "
                    "text is exactly there: it holds.")
    return None


@grader("16.2 citations checked against the documents sent")
def misquoted(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("define `misquoted(message, documents)` and pass the function itself: "
                       "`check.lesson16.misquoted(misquoted)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `misquoted(message, documents)` yourself.")
    rng, seed = draw(seed)
    runs = []
    for _ in range(3):
        documents = _documents(rng)
        runs.append((documents, *_checked_reply(rng, documents)))
    for documents, message, bad in runs:
        try:
            got = function(message, list(documents))
        except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
            return not_yet(f"misquoted() raised {type(error).__name__}: {error} (seed {seed}). Its signature is "
                           "`misquoted(message, documents)`: a reply, and the list of the documents' texts, in the "
                           "order they were sent.")
        if got is None:  # unsolved: the same words on every run
            return not_yet("misquoted() returned None: return the list of the citations that do not hold.")
        problem = _misquote_problem(got, message, documents, bad)
        if problem:
            return not_yet(f"{problem} (seed {seed})")
    return correct(f"on {len(runs)} sets of documents and replies drawn for this run, misquoted() returned exactly "
                   "the citations whose `cited_text` is not at their indexes: a quote shifted by a few characters, "
                   "one put in the wrong document and one with a word changed, and none of those that hold.")


# --- 16.3 ---------------------------------------------------------------------------------------------------------

NOTICES = ("the tool shed opens at {h} on Saturdays", "the compost bays are turned every {n} days",
           "the pond is cleared on the {n}th of each month", "plot {n} has a spare water butt",
           "the seed swap starts at {h} in the orchard strip", "the north gate is locked from {h}")


@dataclass(frozen=True)
class FileTask:
    """The text file exercise 16.3 uploads in this run: its name and its text."""

    filename: str
    text: str

    def __str__(self) -> str:
        return f"This run's file: {self.filename}, {len(self.text.encode())} bytes of plain text."


_file_tasks: list[FileTask] = []


def file_task(seed: Optional[int] = None) -> FileTask:
    """The name and text of the file to upload in exercise 16.3, drawn for this run."""
    rng, _ = draw(seed)
    notices = [n.format(h=f"{rng.randrange(7, 11)} am", n=rng.randrange(2, 29)) for n in rng.sample(NOTICES, 3)]
    number = rng.randrange(1000, 10_000)
    text = " ".join(f"Notice {number}.{i}: {notice[0].upper()}{notice[1:]}." for i, notice in enumerate(notices, 1))
    task = FileTask(f"notices-{number}-{_token(rng, 4)}.txt", text)
    _file_tasks.append(task)
    return task


def _blocks(content: Any) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _metadata(file_id: str, offline: bool) -> Any:
    """The file's metadata, asked where the graded request went: the offline backend when its record says so
    (whatever ``connect()`` would choose now), else the API the lesson's ``connect()`` reaches (live or classroom)."""
    from ..connection import connect

    return connect("offline" if offline else None, quiet=True).files.retrieve_metadata(file_id)


@grader("16.3 a file uploaded once and sent by its id, with citations on")
def file_turn(reply: Any, uploaded: Any = None) -> Any:
    record, problem = logged(reply, "file_reply", "Upload the file, send a request that names it by id")
    if problem is not None:
        return problem
    if not _file_tasks:
        return not_yet("no file was drawn for this run: run the exercise cell from its first line, which calls "
                       "`check.lesson16.file_task()`.")
    task = _file_tasks[-1]
    turns = [t for t in (record.request or {}).get("messages") or [] if isinstance(t, dict)]
    blocks = [b for t in turns if t.get("role") == "user" for b in _blocks(t.get("content"))]
    sources = [b for b in blocks if b.get("type") in ("document", "image")]
    inline = [b for b in sources if (b.get("source") or {}).get("type") in ("base64", "text", "content")]
    by_id = [b for b in sources if (b.get("source") or {}).get("type") == "file"]
    if not by_id:
        if inline:
            return not_yet("your request sent the document's content itself: this exercise sends it by id, "
                           "`\"source\": {\"type\": \"file\", \"file_id\": uploaded.id}`.")
        return not_yet("your request had no document block: add one whose source names the uploaded file by id.")
    if inline:
        return not_yet("besides the document sent by id, your request also sent content inline (base64 or text): "
                       "send only the uploaded file, by its id.")
    if not isinstance(uploaded, anthropic.types.FileMetadata):
        return not_yet("pass the upload's metadata too: `check.lesson16.file_turn(file_reply, uploaded)`, with "
                       "`uploaded` what `client.files.upload(...)` returned.")
    sent_ids = [b["source"].get("file_id") for b in by_id]
    if uploaded.id not in sent_ids:
        return not_yet(f"the document your request named is {sent_ids[0]!r}, not the file you uploaded "
                       f"({uploaded.id!r}): use `uploaded.id`.")
    document = next(b for b in by_id if b["source"].get("file_id") == uploaded.id)
    if document.get("type") != "document" or (document.get("citations") or {}).get("enabled") is not True:
        return not_yet("the document block that names your file does not turn citations on: add "
                       "`\"citations\": {\"enabled\": True}` to it.")
    if not any(b.get("type") == "text" and str(b.get("text", "")).strip() for b in blocks):
        return not_yet("the request named the file but asked nothing: add a text block with your question.")
    try:
        stored = _metadata(uploaded.id, record.offline)
    except anthropic.APIStatusError as error:
        return not_yet(f"the API has no file {uploaded.id!r} now ({error.status_code}): upload this run's file in "
                       "this cell and send the request that names it.")
    if stored.filename != task.filename or stored.size_bytes != len(task.text.encode()):
        return not_yet(f"the file you uploaded is {stored.filename!r}, {stored.size_bytes} bytes; this run drew "
                       f"{task.filename!r}, {len(task.text.encode())} bytes: upload `file_task.text` under "
                       "`file_task.filename`, in this cell.")
    return correct("the usage log shows a request, answered, whose document named by id the file you uploaded in this "
                   "run (its name and size as the API keeps them), with citations on and no content sent inline.")


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
