"""Made-up catalog entries, so a learner's function meets models no list typed in advance can know.

The entries copy the shape of the real catalog's (``ModelEntry``) with invented ids,
prices and flags. ``catalog_including`` lets ``catalog.get``/``lookup``/``available``
see them for the length of one grading run, the way a new release of ``models.json``
would add models.
"""

from __future__ import annotations

import dataclasses
import random
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Iterator

from .. import catalog
from ..catalog import ModelEntry, Price

LIFECYCLES = ("active", "active", "active", "deprecated", "retired")


def made_up_models(rng: random.Random, count: int) -> list[ModelEntry]:
    """``count`` invented entries with random prices, lifecycles, legacy and prefill flags, some with snapshots."""
    template = catalog.models()[0]
    entries = []
    for n in range(count):
        name = f"made-up-model-{rng.randrange(100, 1000)}-{n}"
        released = date(2025, 1, 1) + timedelta(days=rng.randrange(0, 700))
        price_in = rng.choice((0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 15.0))
        lifecycle = rng.choice(LIFECYCLES)
        entries.append(dataclasses.replace(
            template,
            id=name,
            display_name=f"Made-up Model {n}",
            line="made-up",
            released=released,
            price=Price(input=price_in, output=price_in * 5),
            supports_prefill=rng.random() < 0.5,
            lifecycle=lifecycle,
            legacy=lifecycle == "active" and rng.random() < 0.3,
            snapshot=f"{name}-{released:%Y%m%d}" if rng.random() < 0.5 else None,
            aliases=(),
            retires_at=released + timedelta(days=400) if lifecycle == "retired" else None,
            unconfirmed=(),
        ))
    return entries


def made_up_catalog(rng: random.Random, count: int) -> list[ModelEntry]:
    """``count`` (at least 4) invented entries, among them always: a current model that accepts a prefill, a
    current one that refuses it, a retired one that accepted it, and a legacy or deprecated one cheaper than every
    current model, so that a shortcut in a learner's function shows on every run."""
    entries = made_up_models(rng, max(count, 4))
    for n, flags in enumerate(({"lifecycle": "active", "legacy": False, "supports_prefill": True},
                               {"lifecycle": "active", "legacy": False, "supports_prefill": False},
                               {"lifecycle": "retired", "legacy": False, "supports_prefill": True},
                               {"lifecycle": rng.choice(("active", "deprecated")), "supports_prefill": False})):
        entries[n] = dataclasses.replace(entries[n], **flags)
        if n == 3:
            entries[n] = dataclasses.replace(entries[n], legacy=entries[n].lifecycle == "active")
    current_prices = [m.price.input for m in entries if m.lifecycle == "active" and not m.legacy]
    cheap = min(current_prices) / 2
    entries[3] = dataclasses.replace(entries[3], price=Price(input=cheap, output=cheap * 5))
    entries[2] = dataclasses.replace(entries[2], retires_at=entries[2].released + timedelta(days=400))
    rng.shuffle(entries)
    return entries


@contextmanager
def catalog_including(entries: list[ModelEntry]) -> Iterator[None]:
    """The catalog as if ``models.json`` also listed ``entries``, for the length of the block."""
    real_models, real_by_id = catalog.models, catalog._by_id
    extended = tuple(sorted((*real_models(), *entries), key=lambda m: m.released, reverse=True))
    by_id = {**real_by_id(), **{model_id: entry for entry in entries for model_id in entry.all_ids}}
    catalog.models, catalog._by_id = (lambda: extended), (lambda: by_id)
    try:
        yield
    finally:
        catalog.models, catalog._by_id = real_models, real_by_id


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
