"""The Files API and citations offline, through the SDK's own ``files`` and ``messages``: upload (multipart, through
both adapters), list with its page cursor, metadata, delete, download refused for uploaded files; a file used in a
message counts as its content sent inline; citations quote real spans of the sources sent, streamed or not."""

from __future__ import annotations

import base64

import anthropic
import pytest
from anthropic import Middleware

from contract_support import check_error
from helpers import DEFAULT_MODEL, catalog, sample_media
from helpers.offline import batches, files, tokens
from helpers.offline.wording import say
from sample_media import png

PLAIN = "The grass is green. The sky is blue! Is the sea grey? It is."
QUESTION = {"type": "text", "text": "What colours are named?"}


@pytest.fixture(autouse=True)
def fresh_files():
    files.forget()
    batches.forget()  # the files' clock is the batches' clock
    yield
    files.forget()
    batches.forget()


def _upload(api, content: bytes, filename=None, mime=None, **params):
    file = content if filename is None else (filename, content, mime) if mime else (filename, content)
    return api.call(api.client.files.upload, file=file, **params)


def _ask(api, *blocks, **params):
    return api.create(model=DEFAULT_MODEL, max_tokens=600, messages=[{"role": "user", "content": [*blocks, QUESTION]}],
                      **params)


def _doc(source: dict, **extra) -> dict:
    return {"type": "document", "source": source, **extra}


def _file(file_id: str) -> dict:
    return {"type": "file", "file_id": file_id}


def _code(err: anthropic.APIStatusError) -> str:
    return err.body["error"]["details"]["error_code"]


# -- the Files API ------------------------------------------------------------------------------------------------------


def test_an_upload_is_listed_retrieved_and_deleted_with_the_documented_shapes(api):
    stored = _upload(api, PLAIN.encode(), "notes/2026/colours.txt", "text/plain")
    assert isinstance(stored, anthropic.types.FileMetadata)
    assert stored.id.startswith("file_") and stored.type == "file"
    assert stored.filename == "colours.txt"  # only the final path component is kept
    assert stored.mime_type == "text/plain" and stored.size_bytes == len(PLAIN.encode())
    assert stored.downloadable is False and stored.expires_at is None and stored.created_at.tzinfo is not None
    assert api.call(api.client.files.retrieve_metadata, stored.id) == stored
    listed = api.call(api.client.files.list)
    assert [f.id for f in listed.data] == [stored.id] and listed.next_page is None
    deleted = api.call(api.client.files.delete, stored.id)
    assert isinstance(deleted, anthropic.types.DeletedFile)
    assert deleted.id == stored.id and deleted.type == "file_deleted"
    for method in (api.client.files.retrieve_metadata, api.client.files.delete, api.client.files.download):
        with pytest.raises(anthropic.NotFoundError) as caught:
            api.call(method, stored.id)
        check_error(caught.value, 404, "not_found_error", say("file_not_found", file_id=stored.id))
    assert api.call(api.client.files.list).data == []


def test_the_stored_type_comes_from_the_bytes_and_an_unnamed_file_gets_a_name_from_it(api):
    pdf = _upload(api, sample_media.pdf(2))  # bytes alone: the SDK sends no filename
    assert pdf.mime_type == "application/pdf" and pdf.filename == "unnamed.pdf"
    image = _upload(api, png(4, 4), "picture.bin", "application/octet-stream")
    assert image.mime_type == "image/png" and image.filename == "picture.bin"
    text = _upload(api, b"plain words", "words.txt")
    assert text.mime_type == "text/plain"


@pytest.mark.parametrize("name", ["a|b.txt", "why?.txt", "x" * 252 + ".txt"])
def test_an_invalid_filename_is_refused(api, name):
    with pytest.raises(anthropic.BadRequestError) as caught:
        _upload(api, b"words", name, "text/plain")
    check_error(caught.value, 400, "invalid_request_error", say("files_bad_filename", limit=files.MAX_FILENAME))


class BetaHeaders(Middleware):
    """The ``anthropic-beta`` header of every request sent."""

    def __init__(self) -> None:
        self.sent: list = []

    def handle(self, request, call_next):
        response = call_next(request)
        self.sent.append(response.http_request.headers.get("anthropic-beta"))
        return response

    async def handle_async(self, request, call_next):
        response = await call_next(request)
        self.sent.append(response.http_request.headers.get("anthropic-beta"))
        return response


def test_the_beta_namespace_sends_no_beta_header_and_gets_the_same_shapes(api):
    headers = BetaHeaders()
    client = api.with_middleware(headers).client
    stored = api.call(client.beta.files.upload, file=("notes.txt", b"words", "text/plain"))
    assert isinstance(stored, anthropic.types.beta.BetaFileMetadata) and stored.filename == "notes.txt"
    listed = api.call(client.beta.files.list)
    assert [f.id for f in listed.data] == [stored.id] and listed.next_page is None
    assert api.call(client.beta.files.delete, stored.id).type == "file_deleted"
    assert headers.sent == [None, None, None]


def test_the_old_beta_header_on_raw_http_gets_the_beta_list_shape(api):
    ids = [_upload(api, f"file {n}".encode(), f"f{n}.txt").id for n in range(3)]
    beta = {"headers": {"anthropic-beta": files.BETA}}
    page = api.call(api.client.get, "/v1/files?limit=2", cast_to=object, options=beta)
    assert page == {"data": page["data"], "first_id": ids[2], "last_id": ids[1], "has_more": True}
    rest = api.call(api.client.get, f"/v1/files?limit=2&after_id={ids[1]}", cast_to=object, options=beta)
    assert [f["id"] for f in rest["data"]] == [ids[0]] and rest["has_more"] is False


def test_the_list_pages_newest_first_with_next_page_and_filters_by_ids(api):
    ids = [_upload(api, f"file {n}".encode(), f"f{n}.txt").id for n in range(5)]
    first = api.call(api.client.files.list, limit=2)
    assert [f.id for f in first.data] == ids[:2:-1] and first.next_page.startswith("page_")
    if api.is_async:
        async def every():
            return [f.id async for f in await api.client.files.list(limit=2)]
        walked = api.run(every())
    else:
        walked = [f.id for f in api.client.files.list(limit=2)]
    assert walked == ids[::-1]  # the SDK follows next_page to the end
    api.call(api.client.files.delete, ids[1])
    chosen = api.call(api.client.files.list, ids=[ids[0], ids[1], ids[3], "file_unknown"])
    assert [f.id for f in chosen.data] == [ids[3], ids[0]] and chosen.next_page is None
    assert api.call(api.client.beta.files.list, scope_id="sesn_unknown").data == []  # no upload is in a session


@pytest.mark.parametrize("query, key", [({"ids": ["file_a"], "limit": 5}, "files_ids_exclusive"),
                                        ({"page": "page_nonsense"}, "files_bad_page"),
                                        ({"ids": [f"file_{n}" for n in range(101)]}, "files_too_many_ids")])
def test_a_bad_list_query_is_refused(api, query, key):
    with pytest.raises(anthropic.BadRequestError) as caught:
        api.call(api.client.files.list, **query)
    assert caught.value.status_code == 400
    assert caught.value.body["error"]["message"] == say(key, page="page_nonsense", limit=files.MAX_IDS)


def test_an_uploaded_file_cannot_be_downloaded(api):
    stored = _upload(api, b"words", "notes.txt")
    with pytest.raises(anthropic.types.FileNotDownloadableError) as caught:
        api.call(api.client.files.download, stored.id)
    assert caught.value.status_code == 400 and caught.value.error_code == _code(caught.value) == "file_not_downloadable"


def test_a_file_that_expires_loses_its_content_but_not_its_metadata(api):
    stored = _upload(api, PLAIN.encode(), "notes.txt", expires_in_seconds=3600)
    assert (stored.expires_at - stored.created_at).total_seconds() == 3600
    assert _ask(api, _doc(_file(stored.id))).stop_reason == "end_turn"
    batches.advance(3600)
    assert api.call(api.client.files.retrieve_metadata, stored.id) == stored
    with pytest.raises(anthropic.types.FileExpiredError) as caught:
        api.call(api.client.files.download, stored.id)
    assert caught.value.status_code == 404
    with pytest.raises(anthropic.types.FileExpiredError):
        _ask(api, _doc(_file(stored.id)))
    for seconds in (3599, 7_776_001):
        with pytest.raises(anthropic.BadRequestError) as refused:
            _upload(api, b"words", "notes.txt", expires_in_seconds=seconds)
        check_error(refused.value, 400, "invalid_request_error",
                    say("files_expires_range", low=files.EXPIRES_MIN_S, high=files.EXPIRES_MAX_S))


def test_a_file_over_the_size_limit_is_refused_with_413(api, monkeypatch):
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1000)
    with pytest.raises(anthropic.RequestTooLargeError) as caught:
        _upload(api, b"x" * 1001, "big.txt")
    check_error(caught.value, 413, "request_too_large", say("files_too_large", limit="500 MB"))
    monkeypatch.setattr(files, "MAX_UPLOAD_BODY", 2000)  # a body past the limit is refused before it is read
    with pytest.raises(anthropic.RequestTooLargeError) as unread:
        _upload(api, b"x" * 3000, "bigger.txt")
    check_error(unread.value, 413, "request_too_large", say("request_too_large"))


def test_the_offline_store_is_bounded_and_says_so(api, monkeypatch):
    monkeypatch.setattr(files, "KEPT_BYTES", 10)
    _upload(api, b"123456", "a.txt")
    with pytest.raises(anthropic.types.StorageQuotaExceededError) as caught:
        _upload(api, b"123456", "b.txt")
    assert caught.value.status_code == 400 and "Delete files" in caught.value.body["error"]["message"]


# -- files in messages ----------------------------------------------------------------------------------------------------


def test_a_file_in_a_message_counts_as_its_content_sent_inline(api):
    pdf_bytes = sample_media.pdf(3)
    picture = png(40, 30)
    text_id = _upload(api, PLAIN.encode(), "notes.txt").id
    pdf_id = _upload(api, pdf_bytes, "pages.pdf").id
    image_id = _upload(api, picture, "picture.png").id
    by_file = [_doc(_file(text_id)), _doc(_file(pdf_id)), {"type": "image", "source": _file(image_id)}]
    inline = [_doc({"type": "text", "media_type": "text/plain", "data": PLAIN}),
              _doc({"type": "base64", "media_type": "application/pdf", "data": base64.b64encode(pdf_bytes).decode()}),
              {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                           "data": base64.b64encode(picture).decode()}}]
    sent, expected = _ask(api, *by_file), _ask(api, *inline)
    assert sent.usage.input_tokens == expected.usage.input_tokens > 1000
    assert [b.text for b in sent.content if b.type == "text"] == [b.text for b in expected.content if b.type == "text"]
    question = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": [*by_file, QUESTION]}]}
    assert api.count_tokens(**question) == sent.usage.input_tokens


def test_an_unknown_or_deleted_file_in_a_message_is_a_404(api):
    gone = _upload(api, b"words", "notes.txt").id
    api.call(api.client.files.delete, gone)
    for file_id in ("file_011CNha8iCJcU1wXNR6q4V8w", gone):
        with pytest.raises(anthropic.NotFoundError) as caught:
            _ask(api, _doc(_file(file_id)))
        check_error(caught.value, 404, "not_found_error", say("file_not_found", file_id=file_id))


def test_a_file_whose_type_does_not_fit_its_block_is_refused(api):
    pdf_id = _upload(api, sample_media.pdf(1), "pages.pdf").id
    image_id = _upload(api, png(4, 4), "picture.png").id
    cases = [({"type": "image", "source": _file(pdf_id)}, "image", pdf_id, "application/pdf"),
             (_doc(_file(image_id)), "document", image_id, "image/png")]
    for block, kind, file_id, mime in cases:
        with pytest.raises(anthropic.BadRequestError) as caught:
            _ask(api, block)
        check_error(caught.value, 400, "invalid_request_error",
                    say("file_wrong_type", field=f"messages.0.content.0.{kind}.source.file", file_id=file_id,
                        mime=mime, block=kind))


# -- citations ------------------------------------------------------------------------------------------------------


def _cited_request(api) -> dict:
    text_id = _upload(api, PLAIN.encode(), "colours.txt").id
    pdf_id = _upload(api, sample_media.pdf(3, "Page {n} lists the colour of the sea."), "sea.pdf").id
    on = {"enabled": True}
    search = {"type": "search_result", "source": "https://example.com/sky", "title": "Sky facts", "citations": on,
              "content": [{"type": "text", "text": "The sky scatters blue light."}]}
    tool_search = {**search, "source": "kb://sea", "title": "Sea facts",
                   "content": [{"type": "text", "text": "The sea reflects the sky."}]}
    tool = {"name": "lookup", "description": "Look a fact up.", "input_schema": {"type": "object"}}
    messages = [
        {"role": "user", "content": [
            _doc(_file(text_id), title="Colours", citations=on),
            _doc({"type": "content", "content": [{"type": "text", "text": "Leaves are green."},
                                                 {"type": "text", "text": "Snow is white."}]}, citations=on),
            search, {"type": "text", "text": "Look the sea up."}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01", "name": "lookup", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": [tool_search]},
            _doc(_file(pdf_id), title="Sea", citations=on), QUESTION]},
    ]
    return {"model": DEFAULT_MODEL, "max_tokens": 800, "messages": messages, "tools": [tool],
            "_ids": (text_id, pdf_id)}


def test_citations_quote_real_spans_of_every_source_sent(api):
    params = _cited_request(api)
    text_id, pdf_id = params.pop("_ids")
    reply = api.create(**params)
    found = [c for b in reply.content if b.type == "text" for c in (b.citations or [])]
    by_type = {}
    for citation in found:
        by_type.setdefault(citation.type, []).append(citation)
    plain, = by_type["char_location"]
    assert PLAIN[plain.start_char_index:plain.end_char_index] == plain.cited_text == "The grass is green. "
    assert (plain.document_index, plain.document_title, plain.file_id) == (0, "Colours", text_id)
    block, = by_type["content_block_location"]
    assert (block.start_block_index, block.end_block_index, block.cited_text) == (0, 1, "Leaves are green.")
    assert (block.document_index, block.file_id) == (1, None)
    page, = by_type["page_location"]
    assert (page.start_page_number, page.end_page_number) == (1, 2)
    assert page.cited_text == "Page 1 lists the colour of the sea."
    assert (page.document_index, page.document_title, page.file_id) == (2, "Sea", pdf_id)
    searched = sorted(by_type["search_result_location"], key=lambda c: c.search_result_index)
    assert [(c.search_result_index, c.source, c.title, c.cited_text) for c in searched] == [
        (0, "https://example.com/sky", "Sky facts", "The sky scatters blue light."),
        (1, "kb://sea", "Sea facts", "The sea reflects the sky.")]
    assert all((c.start_block_index, c.end_block_index) == (0, 1) for c in searched)
    assert reply.content[-1].type == "text" and reply.stop_reason == "end_turn"
    assert any(b.type == "text" and b.text.startswith("[offline]") for b in reply.content)


def test_cited_text_is_not_counted_in_output_nor_in_input_when_sent_back(api):
    params = _cited_request(api)
    params.pop("_ids")
    reply = api.create(**params)
    tokenizer = catalog.get(DEFAULT_MODEL).tokenizer
    thinking = reply.usage.output_tokens_details.thinking_tokens if reply.usage.output_tokens_details else 0
    texts = sum(tokens.count_text(b.text, tokenizer) for b in reply.content if b.type == "text")
    assert reply.usage.output_tokens == texts + (thinking or 0)
    answered = [b.model_dump(exclude_none=True) for b in reply.content if b.type == "text"]
    bare = [{"type": "text", "text": b["text"]} for b in answered]
    follow_up = {"role": "user", "content": "Thanks."}
    base = {"model": DEFAULT_MODEL, "tools": params["tools"]}
    with_citations = api.count_tokens(**base, messages=[*params["messages"], {"role": "assistant", "content": answered},
                                                        follow_up])
    without = api.count_tokens(**base, messages=[*params["messages"], {"role": "assistant", "content": bare},
                                                 follow_up])
    assert with_citations == without


def test_streamed_citations_arrive_as_deltas_and_accumulate_into_the_same_blocks(api):
    params = _cited_request(api)
    params.pop("_ids")
    events = api.stream_events(**params)
    deltas = [e.delta for e in events if e.type == "content_block_delta" and e.delta.type == "citations_delta"]
    assert len(deltas) == 5
    final = api.stream_final(**params)
    created = api.create(**params)
    assert ([b.model_dump() for b in final.content if b.type == "text"]
            == [b.model_dump() for b in created.content if b.type == "text"])
    assert [d.citation for d in deltas] == [c for b in created.content if b.type == "text" for c in (b.citations or [])]


def test_a_cut_reply_drops_the_citation_of_its_cut_block(api):
    params = _cited_request(api)
    params.pop("_ids")
    full = api.create(**params)
    used = full.usage.output_tokens
    cut = api.create(**{**params, "max_tokens": used - 3})
    assert cut.stop_reason == "max_tokens"
    last = [b for b in cut.content if b.type == "text"][-1]
    assert last.citations is None
    kept = [b for b in cut.content if b.type == "text"][:-1]
    assert [b.model_dump() for b in kept] == [b.model_dump() for b in full.content if b.type == "text"][:len(kept)]


def test_citations_on_some_documents_only_are_refused(api):
    on, off = {"enabled": True}, {"enabled": False}
    plain = {"type": "text", "media_type": "text/plain", "data": PLAIN}
    with pytest.raises(anthropic.BadRequestError) as caught:
        _ask(api, _doc(plain, citations=on), _doc(plain, citations=off))
    check_error(caught.value, 400, "invalid_request_error", say("citations_mixed", sources="documents"))
    with pytest.raises(anthropic.BadRequestError) as unset:
        _ask(api, _doc(plain, citations=on), _doc(plain))
    check_error(unset.value, 400, "invalid_request_error", say("citations_mixed", sources="documents"))
    assert all(b.citations is None for b in _ask(api, _doc(plain, citations=off)).content if b.type == "text")


def test_citations_with_a_structured_output_are_refused(api):
    plain = {"type": "text", "media_type": "text/plain", "data": PLAIN}
    schema = {"type": "object", "properties": {"colour": {"type": "string"}}, "required": ["colour"],
              "additionalProperties": False}
    output_config = {"format": {"type": "json_schema", "schema": schema}}
    with pytest.raises(anthropic.BadRequestError) as caught:
        _ask(api, _doc(plain, citations={"enabled": True}), output_config=output_config)
    check_error(caught.value, 400, "invalid_request_error", say("citations_with_structured_output"))
    assert _ask(api, _doc(plain), output_config=output_config).stop_reason == "end_turn"


def test_a_batch_request_that_names_a_file_is_answered_from_its_content(api):
    stored = _upload(api, PLAIN.encode(), "colours.txt")
    cited = {"model": DEFAULT_MODEL, "max_tokens": 400, "messages": [{"role": "user", "content": [
        _doc(_file(stored.id), citations={"enabled": True}), QUESTION]}]}
    unknown = {**cited, "messages": [{"role": "user", "content": [_doc(_file("file_01gone")), QUESTION]}]}
    batch = api.call(api.client.messages.batches.create, requests=[{"custom_id": "cited", "params": cited},
                                                                   {"custom_id": "unknown", "params": unknown}])
    batches.advance(batches.PROCESSING_S)
    lines = api.call(api.client.messages.batches.results, batch.id)
    if api.is_async:
        async def collect():
            return [line async for line in lines]
        lines = api.run(collect())
    results = {line.custom_id: line.result for line in lines}
    citation, = [c for b in results["cited"].message.content if b.type == "text" for c in (b.citations or [])]
    assert (citation.file_id, citation.cited_text) == (stored.id, PLAIN[citation.start_char_index:
                                                                        citation.end_char_index])
    assert results["unknown"].type == "errored" and results["unknown"].error.error.type == "not_found_error"


def test_a_file_returned_in_a_tool_result_is_resolved_and_indexed_in_request_order(api):
    first = _upload(api, b"Roses are red. Violets are blue.", "poem.txt").id
    second = _upload(api, PLAIN.encode(), "colours.txt").id
    on = {"enabled": True}
    tool = {"name": "lookup", "description": "Look a document up.", "input_schema": {"type": "object"}}
    messages = [
        {"role": "user", "content": [_doc(_file(first), citations=on), {"type": "text", "text": "Find more."}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01", "name": "lookup", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01",
                                      "content": [_doc(_file(second), citations=on)]}]},
    ]
    reply = api.create(model=DEFAULT_MODEL, max_tokens=400, messages=messages, tools=[tool])
    found = [c for b in reply.content if b.type == "text" for c in (b.citations or [])]
    assert [(c.document_index, c.file_id, c.cited_text) for c in found] == [
        (0, first, "Roses are red. "), (1, second, "The grass is green. ")]


@pytest.mark.parametrize("setting, field, kind", [({"enabled": "yes"}, "citations.enabled", "boolean"),
                                                   ("on", "citations", "dictionary")])
def test_a_malformed_citations_setting_is_refused_at_its_place(api, setting, field, kind):
    plain = {"type": "text", "media_type": "text/plain", "data": PLAIN}
    with pytest.raises(anthropic.BadRequestError) as caught:
        _ask(api, _doc(plain, citations=setting))
    check_error(caught.value, 400, "invalid_request_error",
                say("wrong_type", field=f"messages.0.content.0.document.{field}", kind=kind))


def test_a_plain_text_citation_passes_over_headings_to_a_sentence_of_prose(api):
    text = "# Handbook\n\n## 1. Plots\n\nEach member gets one plot of ten square metres. Plots open in March.\n"
    reply = api.create(model=DEFAULT_MODEL, max_tokens=400, messages=[{"role": "user", "content": [
        _doc({"type": "text", "media_type": "text/plain", "data": text}, citations={"enabled": True}), QUESTION]}])
    cited, = [c for b in reply.content if b.type == "text" for c in (b.citations or [])]
    assert text[cited.start_char_index:cited.end_char_index] == cited.cited_text
    assert cited.cited_text == "Each member gets one plot of ten square metres. "
