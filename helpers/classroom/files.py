"""The Files API through the classroom server: each file belongs to the learner who uploaded it, and is seen
and used by nobody else.

- Upload: the multipart body goes on as it came (its boundary with it). Before it is sent, the file's size is
  held against the learner's storage (``FileLimits``: one file at most, all of theirs together at most), in
  the store's one transaction, so uploads at the same time cannot pass it together. The API bills no file
  operation, only the content a Messages request uses, as input tokens (the files page,
  https://platform.claude.com/docs/en/build-with-claude/files, "usage and billing", as its zh-CN version and
  summaries of it say; the English words are unconfirmed), so nothing is reserved from the budget; the
  learner's rate limit applies as to every call.
- Retrieve, delete, download: only the learner's own files; any other id is answered as an unknown one (404)
  without asking the API, so a learner cannot even tell that another's file exists.
- List: the learner's own files only, newest first, paged as the API pages (``page`` cursors of this server's
  own; with ``anthropic-beta: files-api-2025-04-14``, the beta shape with ``before_id`` / ``after_id``). Their
  metadata comes from the API's list filtered by ``ids``: ids that are all the learner's.
- A Messages request (create, stream, count_tokens, or a batch's requests) naming a file that is not the
  learner's is refused with the API's 404 before anything is sent (``referenced_file_ids``).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any, Iterator, Optional
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2

from ..offline import files as offline_files
from ..offline import paging
from ..offline.wording import say
from .limits import MB
from .routes import FILE_ID
from .store import Call

if TYPE_CHECKING:
    from .proxy import Answer, Classroom
    from .routes import Route

MAX_LIST = 1000
SKIPPED_KEYS = frozenset({"input", "input_schema"})
"""Values the API never reads a file from: a tool call's arguments, a tool's schema (the learner's own JSON)."""


def referenced_file_ids(body: Any) -> Iterator[str]:
    """Every file id a request names: ``file_id`` wherever it appears (a ``{"type": "file"}`` source of a
    document or image, inside tool results too; a ``container_upload``), except in tool arguments and schemas.
    The whole body is walked, so a batch's requests are covered, and so is any place a later API version reads."""
    stack = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            file_id = item.get("file_id")
            if isinstance(file_id, str):
                yield file_id
            stack.extend(v for k, v in item.items() if k not in SKIPPED_KEYS)
        elif isinstance(item, list):
            stack.extend(item)


def _mb(size: int) -> str:
    if size < MB:
        return f"{size} bytes" if size < 10 * 1024 else f"{size / 1024:.0f} KB"
    return f"{size / MB:.1f} MB" if size % MB else f"{size // MB} MB"


def _cursor(row: int) -> str:
    return "page_" + base64.urlsafe_b64encode(f"files:{row}".encode()).decode().rstrip("=")


def _after_row(cursor: str) -> Optional[int]:
    encoded = cursor.removeprefix("page_")
    try:
        kind, _, row = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode().partition(":")
        return int(row) if cursor.startswith("page_") and kind == "files" else None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _one(query: dict, name: str) -> Optional[str]:
    values = query.get(name)
    return values[-1] if values else None


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


class FileDesk:
    """The file routes of one classroom server (``room``: its store, upstream, limits and answers)."""

    def __init__(self, room: "Classroom"):
        self.room = room

    def refuse_unowned(self, learner_id: int, body: Any) -> Optional["Answer"]:
        """The API's 404 for the first file the request names that is not the learner's, or None."""
        owned: Optional[set[str]] = None  # read once: a body may name a file a million times
        for file_id in referenced_file_ids(body):
            if owned is None:
                owned = {mine for _, mine in self.room.store.learner_files(learner_id)}
            if file_id not in owned:
                self.room._note(learner_id, f"HTTP 404 not_found_error: file {file_id[:100]} is not one of yours, "
                                            "or is gone")
                return self._unknown(file_id)
        return None

    def _unknown(self, file_id: str) -> "Answer":
        from .proxy import _error  # noqa: PLC0415 - the proxy imports this module

        return _error(404, "not_found_error", say("file_not_found", file_id=file_id[:100]))

    async def answer(self, learner_id: int, route: "Route", headers: dict[str, str], body: bytes,
                     send) -> Optional["Answer"]:
        if route.name == "file_upload":
            return await self._upload(learner_id, route, headers, body)
        if route.name == "file_list":
            return await self._list(learner_id, route, headers)
        if self.room.store.file_owner(route.file_id) != learner_id:
            self.room._note(learner_id, f"HTTP 404 not_found_error: file {route.file_id} is not one of yours, "
                                        "or is gone")
            return self._unknown(route.file_id)
        if route.name == "file_content":
            return await self._download(learner_id, route, headers, send)
        method = "DELETE" if route.name == "file_delete" else "GET"
        answer = await self._forward(learner_id, route.name, method, route.target, headers)
        if route.name == "file_delete" and answer.status in (200, 404):  # deleted now, or gone already
            self.room.store.forget_file(route.file_id)
        return answer

    async def _forward(self, learner_id: int, name: str, method: str, target: str, headers: dict[str, str],
                       body: bytes = b"") -> "Answer":
        from .proxy import Answer, _error_text  # noqa: PLC0415

        try:
            response = await self.room.upstream.send(method, target, headers, body)
            data = await response.aread()
            await response.aclose()
        except httpx2.HTTPError as error:
            self.room._note(learner_id, f"the API could not be reached ({type(error).__name__})")
            return self.room._unreachable(error)
        self.room._note(learner_id, None if response.status_code < 400 else _error_text(response.status_code, data),
                        Call(response.headers.get("request-id"), response.status_code, {"route": name}))
        return Answer(response.status_code, self.room._returned(response, learner_id), data)

    # -- upload ----------------------------------------------------------------------------------------------------

    def body_limit(self) -> int:
        """The largest upload body read: the largest file and room for its multipart framing."""
        return self.room.file_limits.per_file_bytes + 64 * 1024

    def too_large(self) -> "Answer":
        from .proxy import _error  # noqa: PLC0415

        return _error(413, "request_too_large", f"File too large: this classroom server takes files of at most "
                                                f"{_mb(self.room.file_limits.per_file_bytes)} (your instructor's "
                                                "setting). Upload a smaller file, or ask your instructor.")

    async def _upload(self, learner_id, route, headers, body) -> "Answer":
        from .proxy import Answer, _error, _error_text  # noqa: PLC0415

        limits = self.room.file_limits
        size = offline_files.upload_size(body, headers.get("content-type", ""))
        size = len(body) if size is None else size  # a body the kit cannot read: the API judges it; all of it counts
        if size > limits.per_file_bytes:
            answer = self.too_large()
            self.room._note(learner_id, _error_text(413, answer.body))
            return answer
        row, stored = self.room.store.hold_upload(learner_id, size, limits.per_learner_bytes)
        if row is None:
            answer = _error(400, "invalid_request_error",
                            f"Storage limit exceeded: your files on this classroom server take {_mb(stored)} of the "
                            f"{_mb(limits.per_learner_bytes)} each learner may keep, and this one is {_mb(size)}. "
                            "Delete files you no longer need (client.files.delete), or ask your instructor.",
                            code="storage_quota_exceeded")
            self.room._note(learner_id, _error_text(400, answer.body))
            return answer
        kept = False
        try:
            try:
                response = await self.room.upstream.send("POST", route.target, headers, body)
                data = await response.aread()
                await response.aclose()
            except httpx2.HTTPError as error:
                self.room._note(learner_id, f"the API could not be reached ({type(error).__name__})")
                return self.room._unreachable(error)
            made = _json(data) if response.status_code == 200 else None
            call = Call(response.headers.get("request-id"), response.status_code, {"route": "file_upload"})
            if isinstance(made, dict) and isinstance(made.get("id"), str) and FILE_ID.fullmatch(made["id"]):
                stored_size = made.get("size_bytes")
                self.room.store.keep_file(row, made["id"], stored_size if isinstance(stored_size, int) else size,
                                          call)
                kept = True
            else:
                self.room._note(learner_id, _error_text(response.status_code, data), call)
            return Answer(response.status_code, self.room._returned(response, learner_id), data)
        finally:
            if not kept:
                self.room.store.drop_upload(row)

    # -- list ------------------------------------------------------------------------------------------------------

    async def _list(self, learner_id, route, headers) -> "Answer":
        """The learner's own files, newest first, in the shape the API gives the list asked for."""
        from .proxy import _error, _json as json_answer  # noqa: PLC0415

        query = parse_qs(urlsplit(route.target).query)
        mine = [] if _one(query, "scope_id") is not None else self.room.store.learner_files(learner_id)
        beta = offline_files.BETA in {b.strip() for b in headers.get("anthropic-beta", "").split(",")}
        ids = query.get("ids[]") or query.get("ids")
        refused = None
        if ids is not None and not beta:
            if _one(query, "page") is not None or _one(query, "limit") is not None:
                refused = say("files_ids_exclusive")
            elif len(set(ids)) > offline_files.MAX_IDS:
                refused = say("files_too_many_ids", limit=offline_files.MAX_IDS)
            wanted = set(ids)
            shown, next_page = [file_id for _, file_id in mine if file_id in wanted], None
        else:
            try:
                limit = int(_one(query, "limit") or offline_files.DEFAULT_LIMIT)
            except ValueError:
                limit = 0
            if not 1 <= limit <= MAX_LIST:
                refused = say("too_large" if limit > MAX_LIST else "too_small", field="limit",
                              limit=MAX_LIST if limit > MAX_LIST else 1)
            if beta:
                order = [file_id for _, file_id in mine]
                start, end, more = paging.page(order, _one(query, "after_id"), _one(query, "before_id"), limit)
                shown = order[start:end]
            else:
                page = _one(query, "page")
                after = None if page is None else _after_row(page)
                if page is not None and after is None:
                    refused = say("files_bad_page", page=page[:200])
                later = [(row, file_id) for row, file_id in mine if after is None or row < after]
                shown = [file_id for _, file_id in later[:limit]]
                next_page = _cursor(later[limit - 1][0]) if len(later) > limit > 0 else None
        if refused is not None:
            self.room._note(learner_id, f"HTTP 400 invalid_request_error: {refused}")
            return _error(400, "invalid_request_error", refused)
        found = await self._metadata(learner_id, shown, headers)
        if not isinstance(found, list):
            return found  # the API's error, as it came
        self.room._note(learner_id)
        if beta:
            return json_answer({"data": found, "first_id": found[0]["id"] if found else None,
                                "last_id": found[-1]["id"] if found else None, "has_more": more})
        return json_answer({"data": found, "next_page": next_page})

    async def _metadata(self, learner_id: int, file_ids: list[str], headers: dict[str, str]):
        """The metadata of these files (all the learner's), in this order, from the API's list filtered by
        ``ids``; files the API no longer has are left out. Or the API's error answer."""
        from .proxy import Answer, _error, _error_text  # noqa: PLC0415

        plain = {k: v for k, v in headers.items() if k != "anthropic-beta"}  # the list's own shape, paged by ids
        by_id: dict[str, Any] = {}
        for start in range(0, len(file_ids), offline_files.MAX_IDS):
            chunk = file_ids[start:start + offline_files.MAX_IDS]
            try:
                response = await self.room.upstream.send("GET", "/v1/files?" + urlencode([("ids[]", i) for i in chunk]),
                                                         plain, b"")
                data = await response.aread()
                await response.aclose()
            except httpx2.HTTPError as error:
                self.room._note(learner_id, f"the API could not be reached ({type(error).__name__})")
                return self.room._unreachable(error)
            if response.status_code != 200:
                self.room._note(learner_id, _error_text(response.status_code, data))
                return Answer(response.status_code, self.room._returned(response, learner_id), data)
            page = _json(data)
            if not isinstance(page, dict) or not isinstance(page.get("data"), list):
                self.room._note(learner_id, "the API's list of files could not be read")
                return _error(502, "api_error", "The classroom server could not read the API's list of files. "
                                                "Try again; if it goes on, tell your instructor.", retry=True)
            wanted = set(chunk)
            by_id.update({f["id"]: f for f in page["data"] if isinstance(f, dict) and f.get("id") in wanted})
        return [by_id[i] for i in file_ids if i in by_id]

    # -- download --------------------------------------------------------------------------------------------------

    async def _download(self, learner_id, route, headers, send) -> Optional["Answer"]:
        """The file's content passed through as it comes (the API lets only files that tools made be downloaded)."""
        return await self.room._relay(learner_id, route.target, headers, send,
                                      call=Call(None, 0, {"route": "file_content"}))
