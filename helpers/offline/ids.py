"""Object ids shaped like the API's: a prefix, then base62 characters."""

from __future__ import annotations

import secrets
import string

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_PAIRS = [_BASE62[low] + _BASE62[high] for high in range(62) for low in range(62)]
"""Two base62 digits at once, the less significant first: the digits of ``n`` for ``n`` below 62 * 62."""


def new_id(prefix: str, length: int = 24) -> str:
    number = int.from_bytes(secrets.token_bytes(18), "big")  # 144 random bits, enough for 22 base62 digits
    digits = []
    for _ in range((length - 2) // 2):
        number, pair = divmod(number, 3844)
        digits.append(_PAIRS[pair])
    if length % 2:
        digits.append(_BASE62[number % 62])
    return f"{prefix}_01" + "".join(digits)
