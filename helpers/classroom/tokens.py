"""Learner and instructor tokens: what they look like, and how the server checks them.

A learner token is ``clsrm-<learner number>-<secret>``. It stands in for an API key in the
learner's ``ANTHROPIC_API_KEY`` and opens nothing but the classroom server. The server keeps
only a SHA-256 of the secret (a token is 192 random bits, so a fast hash is enough) and
compares hashes with ``hmac.compare_digest``, so neither a stolen database nor the time an
answer takes gives a token away. The instructor token is ``clsrm-instructor-<secret>``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Optional

PREFIX = "clsrm-"
INSTRUCTOR = "instructor"
_SECRET_BYTES = 24
_DUMMY_HASH = hashlib.sha256(b"no such learner").digest()


@dataclass(frozen=True)
class Presented:
    """A token as the client sent it, split into who it claims to be and its secret."""

    learner_id: Optional[int]  # None for the instructor token
    secret: str


def new_secret() -> str:
    return secrets.token_urlsafe(_SECRET_BYTES)


def secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def learner_token(learner_id: int, secret: str) -> str:
    return f"{PREFIX}{learner_id}-{secret}"


def instructor_token(secret: str) -> str:
    return f"{PREFIX}{INSTRUCTOR}-{secret}"


def is_classroom_token(value: Optional[str]) -> bool:
    return bool(value) and value.startswith(PREFIX)


def parse(token: str) -> Optional[Presented]:
    """The token's parts, or None when it is not a classroom token at all."""
    if not token.startswith(PREFIX):
        return None
    who, sep, secret = token[len(PREFIX):].partition("-")
    if not sep or not secret:
        return None
    if who == INSTRUCTOR:
        return Presented(None, secret)
    if not who.isdigit() or len(who) > 9:
        return None
    return Presented(int(who), secret)


def matches(secret: str, stored: Optional[bytes]) -> bool:
    """Whether ``secret`` hashes to ``stored``, in time that does not depend on where they differ.

    With no stored hash (no such learner), a dummy comparison keeps the time the same."""
    ok = hmac.compare_digest(secret_hash(secret), stored if stored is not None else _DUMMY_HASH)
    return ok and stored is not None


def from_headers(headers: dict[str, str]) -> Optional[str]:
    """The credential a client sent: ``x-api-key``, or ``Authorization: Bearer ...`` (anthropic 2.x sends its
    ``api_key`` as a Bearer token; older SDKs and curl examples use ``x-api-key``)."""
    key = headers.get("x-api-key", "").strip()
    if key:
        return key
    scheme, _, value = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None
