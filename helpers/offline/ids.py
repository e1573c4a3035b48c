"""Object ids shaped like the API's: a prefix, then base62 characters."""

from __future__ import annotations

import secrets
import string

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_01" + "".join(secrets.choice(_BASE62) for _ in range(length - 2))
