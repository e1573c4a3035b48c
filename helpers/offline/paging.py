"""The API's cursor pages (``limit``, ``after_id``, ``before_id``), as the Models and Message Batches lists use them."""

from __future__ import annotations

from typing import Optional


def page(ids: list[str], after: Optional[str], before: Optional[str], limit: int) -> tuple[int, int, bool]:
    """``(start, end, has_more)``: the slice of ``ids`` (newest first) a page shows, and whether more follow it
    in its direction. An id that is not in the list gives an empty page."""
    if after is not None:
        start = ids.index(after) + 1 if after in ids else len(ids)
        return start, start + limit, start + limit < len(ids)
    if before is not None:
        end = ids.index(before) if before in ids else 0
        return max(0, end - limit), end, end - limit > 0
    return 0, limit, limit < len(ids)
