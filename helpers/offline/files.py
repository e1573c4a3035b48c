"""The Files API (``/v1/files``), answered offline: upload (multipart), list, retrieve metadata, delete and
download; and the file sources of Messages requests, resolved to the content that was uploaded.

Facts (https://platform.claude.com/docs/en/build-with-claude/files, the API reference pages under
https://platform.claude.com/docs/en/api/files-create and its siblings; SDK 2.17 ``resources/files.py``,
``resources/beta/files.py``, ``types/file_metadata.py``, ``types/deleted_file.py``, ``types/file_list_params.py``,
``types/file_upload_params.py``, ``_error_classes.py`` and its CHANGELOG, entry 1.2.0):

- The SDK's ``client.files`` and ``client.beta.files`` send no ``anthropic-beta`` header and get the same shapes
  (CHANGELOG 1.2.0: "no longer send the ``files-api-2025-04-14`` [header] and return the same shapes as
  ``client.files``"); a raw request that still sends ``files-api-2025-04-14`` "keeps receiving the beta shapes".
  The shapes differ only in the list: ``{data, next_page}`` paged with ``page`` (an opaque cursor prefixed
  ``page_``), ``limit`` (1 to 1000, default 20) or ``ids`` (at most 100, not with ``page`` or ``limit``, one page,
  unknown and deleted ids left out), and ``scope_id``; the beta list is ``{data, first_id, last_id, has_more}``
  paged with ``before_id`` / ``after_id``.
- Upload is ``multipart/form-data`` with the file in the part ``file`` and an optional ``expires_in_seconds``
  (3600 to 7776000). "Only the final path component of the part's ``filename`` is kept; an absent or empty
  ``filename`` is replaced with ``unnamed`` plus the extension for the file's stored ``mime_type``."
  A file is at most 500 MB (larger: 413); an organisation stores at most 100 GB.
- Metadata: ``id``, ``type: "file"``, ``filename``, ``mime_type``, ``size_bytes``, ``created_at`` (RFC 3339),
  ``downloadable``, ``expires_at`` (null when the file does not expire), ``scope`` (a session's, for files a
  session made). Deleting answers ``{id, type: "file_deleted"}``; a deleted file is gone for good.
- "You can only download files that were created by skills or the code execution tool. Files that you uploaded
  cannot be downloaded": 400 ``file_not_downloadable`` (``FileNotDownloadableError``). Past ``expires_at``
  the content is gone: 404 ``file_expired`` (``FileExpiredError``).
- Errors of the files page: file not found (404), invalid file type (400: "the file type doesn't match the
  content block type"), invalid filename (400: 1 to 255 characters, none of ``< > : " | ? * \\ /`` or the
  characters 0-31), file too large (413), storage limit exceeded (``storage_quota_exceeded``, 400 in the SDK).
- In a message, a PDF or plain-text file is a ``document`` block and an image file an ``image`` block, with
  ``source: {"type": "file", "file_id": ...}``.

What is the kit's own: files live in this process's memory, at most ``KEPT_FILES`` files and ``KEPT_BYTES``
bytes in all (past that, the storage-quota error, naming the kit's limit: the backend's memory stays bounded);
a file's type comes from its bytes (PDF, the four image types), else from the part's declared type, else from
its name (UNCONFIRMED: how the API decides); a message's file source is replaced by the content it names
before the request is checked, so it is validated and counted exactly as that content sent inline.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Optional

from . import media, paging
from .batches import _stamp, clock
from .errors import ApiError, invalid
from .ids import new_id
from .wording import say

MAX_FILE_BYTES = 500 * 1024 * 1024
"""500 MB a file (the files page, "File storage and limits"). UNCONFIRMED: whether MB means 2**20 bytes."""
MAX_UPLOAD_BODY = MAX_FILE_BYTES + 64 * 1024
"""The largest upload body: the file plus room for the multipart framing."""
KEPT_FILES = 1_000
KEPT_BYTES = 256 * 1024 * 1024
"""What the offline store holds at most, in files and in bytes (the kit's own bound, far below the API's 100 GB)."""
EXPIRES_MIN_S, EXPIRES_MAX_S = 3600, 7_776_000
MAX_FILENAME = 255
FORBIDDEN_IN_FILENAME = frozenset('<>:"|?*\\/') | frozenset(chr(c) for c in range(32))
MAX_IDS = 100
DEFAULT_LIMIT, MAX_LIMIT = 20, 1000
BETA = "files-api-2025-04-14"
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
DOCUMENT_TYPES = ("application/pdf", "text/plain")


@dataclass
class StoredFile:
    id: str
    filename: str
    mime_type: str
    data: bytes = field(repr=False)
    created: float
    expires: Optional[float]
    order: int  # upload order: the list's cursor survives deletions


_files: "OrderedDict[str, StoredFile]" = OrderedDict()
_lock = threading.Lock()
_uploads = 0


def _view(stored: StoredFile) -> dict:
    return {
        "id": stored.id, "type": "file", "filename": stored.filename, "mime_type": stored.mime_type,
        "size_bytes": len(stored.data), "created_at": _stamp(stored.created), "downloadable": False,
        "expires_at": _stamp(stored.expires), "scope": None,
    }


# -- upload ----------------------------------------------------------------------------------------------------------


@dataclass
class _Part:
    content: bytes
    filename: Optional[str]
    content_type: Optional[str]


def _param(header: str, name: str) -> Optional[str]:
    found = re.search(rf'(?:^|;)\s*{name}="((?:[^"\\]|\\.)*)"', header) or re.search(rf"(?:^|;)\s*{name}=([^;\s]*)",
                                                                                      header)
    return re.sub(r"\\(.)", r"\1", found.group(1)) if found else None


def _parts(body: bytes, content_type: str) -> dict[str, _Part]:
    """The parts of a ``multipart/form-data`` body, by name."""
    boundary = _param(content_type, "boundary")
    if not content_type.lower().startswith("multipart/form-data") or not boundary:
        raise invalid(say("files_not_multipart"))
    delimiter = b"--" + boundary.encode("latin-1")
    sections = body.split(b"\r\n" + delimiter)
    if not sections[0].startswith(delimiter):
        raise invalid(say("files_not_multipart"))
    sections[0] = sections[0][len(delimiter):]
    parts: dict[str, _Part] = {}
    for section in sections:
        if section.startswith(b"--"):
            return parts
        head, separator, content = section.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise invalid(say("files_not_multipart"))
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        name = _param(headers.get("content-disposition", ""), "name")
        if name is not None:
            parts.setdefault(name, _Part(content, _param(headers.get("content-disposition", ""), "filename"),
                                         headers.get("content-type")))
    raise invalid(say("files_not_multipart"))  # no closing delimiter: the body was cut short


def _mime_type(data: bytes, declared: Optional[str], filename: str) -> str:
    if media.is_pdf(data):
        return "application/pdf"
    sniffed = media.kind(data)
    if sniffed is not None:
        return sniffed
    declared = (declared or "").split(";")[0].strip().lower()
    if declared and declared != "application/octet-stream":
        return declared
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _filename(sent: Optional[str]) -> str:
    """The final path component of the name sent; "" when none was sent."""
    return re.split(r"[/\\]", sent or "")[-1]


def _expires(raw: Optional[_Part]) -> Optional[int]:
    if raw is None:
        return None
    try:
        seconds = int(raw.content.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise invalid(say("wrong_type", field="expires_in_seconds", kind="integer")) from None
    if not EXPIRES_MIN_S <= seconds <= EXPIRES_MAX_S:
        raise invalid(say("files_expires_range", low=EXPIRES_MIN_S, high=EXPIRES_MAX_S))
    return seconds


def upload_size(body: bytes, content_type: str) -> Optional[int]:
    """The size of an upload's file (its part ``file``), or None when the body is no upload this module can read."""
    try:
        part = _parts(body, content_type).get("file")
    except ApiError:
        return None
    return len(part.content) if part is not None else None


def upload(body: bytes, content_type: str) -> dict:
    global _uploads
    parts = _parts(body, content_type)
    extra = sorted(set(parts) - {"file", "expires_in_seconds"})
    if extra:
        raise invalid(say("extra_input", field=extra[0]))
    if "file" not in parts:
        raise invalid(say("field_required", field="file"))
    part = parts["file"]
    if len(part.content) > MAX_FILE_BYTES:
        raise ApiError("request_too_large", say("files_too_large", limit="500 MB"))
    expires_in = _expires(parts.get("expires_in_seconds"))
    name = _filename(part.filename)
    if len(name) > MAX_FILENAME or set(name) & FORBIDDEN_IN_FILENAME:
        raise invalid(say("files_bad_filename", limit=MAX_FILENAME))
    mime = _mime_type(part.content, part.content_type, name)
    if not name:
        name = "unnamed" + (mimetypes.guess_extension(mime) or "")
    now = clock()
    with _lock:
        held = sum(len(f.data) for f in _files.values())
        if len(_files) >= KEPT_FILES or held + len(part.content) > KEPT_BYTES:
            raise ApiError("invalid_request_error", say("files_quota", files=KEPT_FILES, size="256 MB"),
                           code="storage_quota_exceeded")
        _uploads += 1
        stored = StoredFile(new_id("file"), name, mime, part.content, now,
                            now + expires_in if expires_in is not None else None, _uploads)
        _files[stored.id] = stored
    return _view(stored)


# -- list, retrieve, delete, download ----------------------------------------------------------------------------------


def _find(file_id: str) -> StoredFile:
    with _lock:
        stored = _files.get(file_id)
    if stored is None:
        raise ApiError("not_found_error", say("file_not_found", file_id=file_id))
    return stored


def _expired(stored: StoredFile) -> bool:
    return stored.expires is not None and clock() >= stored.expires


def _one(query: dict, name: str) -> Optional[str]:
    values = query.get(name)
    return values[-1] if values else None


def _limit(query: dict) -> int:
    from .models import _limit as models_limit  # the Models API checks ``limit`` the same way, 1 to 1000

    return models_limit(query)


def _cursor(order: int) -> str:
    return "page_" + base64.urlsafe_b64encode(f"files:{order}".encode()).decode().rstrip("=")


def _after_cursor(cursor: str) -> int:
    encoded = cursor.removeprefix("page_")
    try:
        text = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        kind, _, order = text.partition(":")
        if not cursor.startswith("page_") or kind != "files":
            raise ValueError(cursor)
        return int(order)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid(say("files_bad_page", page=cursor)) from None


def _listing(query: dict) -> dict:
    ids = query.get("ids[]") or query.get("ids")
    scope = _one(query, "scope_id")
    with _lock:
        newest_first = list(reversed(_files.values()))
    if scope is not None:
        newest_first = []  # the kit's files are all uploaded: none belongs to a session's scope
    if ids is not None:
        if _one(query, "page") is not None or _one(query, "limit") is not None:
            raise invalid(say("files_ids_exclusive"))
        wanted = set(ids)
        if len(wanted) > MAX_IDS:
            raise invalid(say("files_too_many_ids", limit=MAX_IDS))
        return {"data": [_view(f) for f in newest_first if f.id in wanted], "next_page": None}
    limit = _limit(query)
    page = _one(query, "page")
    if page is not None:
        after = _after_cursor(page)
        newest_first = [f for f in newest_first if f.order < after]
    shown = newest_first[:limit]
    more = len(newest_first) > limit
    return {"data": [_view(f) for f in shown], "next_page": _cursor(shown[-1].order) if more else None}


def _beta_listing(query: dict) -> dict:
    """The list as ``files-api-2025-04-14`` shapes it."""
    limit = _limit(query)
    with _lock:
        newest_first = list(reversed(_files.values()))
    start, end, has_more = paging.page([f.id for f in newest_first], _one(query, "after_id"),
                                       _one(query, "before_id"), limit)
    data = [_view(f) for f in newest_first[start:end]]
    return {"data": data, "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None,
            "has_more": has_more}


def route(path: str) -> bool:
    return path == "/v1/files" or path.startswith("/v1/files/")


def answer(method: str, path: str, query: dict, body: bytes, headers: dict[str, str], betas: frozenset[str]) -> dict:
    """One request to the Files API; raises ``ApiError`` as the API answers errors."""
    parts = path.removeprefix("/v1/files").strip("/").split("/") if path != "/v1/files" else []
    if not parts:
        if method == "POST":
            return upload(body, headers.get("content-type", ""))
        if method == "GET":
            return _beta_listing(query) if BETA in betas else _listing(query)
    elif len(parts) == 1:
        if method == "GET":
            return _view(_find(parts[0]))
        if method == "DELETE":
            stored = _find(parts[0])
            with _lock:
                _files.pop(stored.id, None)
            return {"id": stored.id, "type": "file_deleted"}
    elif len(parts) == 2 and parts[1] == "content" and method == "GET":
        stored = _find(parts[0])
        if _expired(stored):
            raise ApiError("not_found_error", say("file_expired", file_id=stored.id), code="file_expired")
        raise ApiError("invalid_request_error", say("file_not_downloadable", file_id=stored.id),
                       code="file_not_downloadable")
    raise ApiError("not_found_error", say("not_found_route"))


def forget() -> None:
    """Drop every file (tests)."""
    with _lock:
        _files.clear()


# -- file sources in messages ------------------------------------------------------------------------------------------


@dataclass
class Resolved:
    body: Any  # the request with every file source replaced by the content it names
    file_ids: dict[int, str]  # document index (the order of document blocks in the request) -> its file id


def _inline(block: dict, stored: StoredFile, where: str) -> dict:
    """The block with the file's content in place of its file source."""
    if _expired(stored):
        raise ApiError("not_found_error", say("file_expired", file_id=stored.id), code="file_expired")
    kind, mime = block["type"], stored.mime_type
    if kind == "image" and mime in IMAGE_TYPES:
        source = {"type": "base64", "media_type": mime, "data": base64.b64encode(stored.data).decode("ascii")}
    elif kind == "document" and mime == "application/pdf":
        source = {"type": "base64", "media_type": mime, "data": base64.b64encode(stored.data).decode("ascii")}
    elif kind == "document" and mime == "text/plain":
        try:
            source = {"type": "text", "media_type": mime, "data": stored.data.decode("utf-8")}
        except UnicodeDecodeError:
            raise invalid(say("file_wrong_type", field=where, file_id=stored.id, mime=mime, block=kind)) from None
    else:
        raise invalid(say("file_wrong_type", field=where, file_id=stored.id, mime=mime, block=kind))
    return {**block, "source": source}


def _is_file_source(block: Any) -> bool:
    source = block.get("source") if isinstance(block, dict) and block.get("type") in ("image", "document") else None
    return isinstance(source, dict) and source.get("type") == "file" and isinstance(source.get("file_id"), str)


def _resolve_list(content: list, where: str, file_ids: dict[int, str], counter: list[int]) -> list:
    out = []
    for j, block in enumerate(content):
        here = f"{where}.{j}"
        if isinstance(block, dict) and block.get("type") == "tool_result" and isinstance(block.get("content"), list):
            block = {**block, "content": _resolve_list(block["content"], f"{here}.tool_result.content", file_ids,
                                                       counter)}
        elif isinstance(block, dict) and block.get("type") == "document":
            if _is_file_source(block):
                file_id = block["source"]["file_id"]
                file_ids[counter[0]] = file_id
                block = _inline(block, _find(file_id), f"{here}.document.source.file")
            counter[0] += 1
        elif _is_file_source(block):
            block = _inline(block, _find(block["source"]["file_id"]), f"{here}.image.source.file")
        out.append(block)
    return out


def _blocks(messages: list):
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else ():
            yield block
            inner = block.get("content") if isinstance(block, dict) and block.get("type") == "tool_result" else None
            yield from inner if isinstance(inner, list) else ()


def resolve(body: Any) -> Resolved:
    """The request with its file sources resolved: 404 for a file that does not exist (or no longer does), 400
    for a file whose type does not fit its block. Anything malformed is left for validation to report."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not any(_is_file_source(b) for b in _blocks(messages)):
        return Resolved(body, {})  # the common case: nothing copied
    file_ids: dict[int, str] = {}
    counter = [0]
    resolved = []
    for i, message in enumerate(messages):
        if isinstance(message, dict) and isinstance(message.get("content"), list):
            message = {**message, "content": _resolve_list(message["content"], f"messages.{i}.content", file_ids,
                                                           counter)}
        resolved.append(message)
    return Resolved({**body, "messages": resolved}, file_ids)
