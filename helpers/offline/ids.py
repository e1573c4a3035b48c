"""Object ids shaped like the API's: a prefix, then base62 characters."""

from __future__ import annotations

import secrets
import string

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def new_id(prefix: str, length: int = 24) -> str:
    number = int.from_bytes(secrets.token_bytes(18), "big")  # 144 random bits, enough for 22 base62 digits
    digits = []
    for _ in range(length - 2):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return f"{prefix}_01" + "".join(digits)
