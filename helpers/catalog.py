"""The kit's one model catalog, read from ``models.json``.

Lessons, graders and the offline backend ask this module about models; no other
code names a model id. ``lookup`` accepts an alias, a dated snapshot id or an
older alias, as the API does. What a model does differently (which thinking
settings it takes, its tokenizer, whether it allows forced tool use, ...) is data
here, each fact with its source in ``models.json``; code reads the facts and never
tests for a model id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, Optional

CATALOG_FILE = Path(__file__).with_name("models.json")

DEFAULT_MODEL = "claude-haiku-5-5"
"""Current and cheapest: the model lessons use unless they say otherwise."""

PREFILL_MODEL = "claude-haiku-4-5"
"""Still accepts an assistant prefill, for the prefill lesson."""


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    long_context_above: Optional[int] = None
    long_context_input: Optional[float] = None
    long_context_output: Optional[float] = None

    def _rates(self, total_input: int) -> tuple[float, float]:
        if self.long_context_above is not None and total_input > self.long_context_above:
            return self.long_context_input, self.long_context_output
        return self.input, self.output

    def cost_usd(self, input_tokens: int, output_tokens: int, *, cache_read: int = 0, cache_write_5m: int = 0,
                 cache_write_1h: int = 0) -> float:
        """Dollars for one call; long-context rates apply when the whole prompt exceeds the threshold.

        Cache reads and writes are billed at their multiple of the input price (``cache_prices()``).
        """
        rate_in, rate_out = self._rates(input_tokens + cache_read + cache_write_5m + cache_write_1h)
        factors = cache_prices()
        cached = cache_read * factors.read + cache_write_5m * factors.write_5m + cache_write_1h * factors.write_1h
        return ((input_tokens + cached) * rate_in + output_tokens * rate_out) / 1_000_000

    def cache_saving_usd(self, *, cache_read: int = 0, cache_write_5m: int = 0, cache_write_1h: int = 0,
                         input_tokens: int = 0) -> float:
        """Dollars the cache saved on one call: those tokens at the plain input price, minus what they cost.

        Negative on a call that only wrote to the cache (a write costs more than plain input).
        """
        rate_in, _ = self._rates(input_tokens + cache_read + cache_write_5m + cache_write_1h)
        factors = cache_prices()
        saved = cache_read * (1 - factors.read) + cache_write_5m * (1 - factors.write_5m)
        saved += cache_write_1h * (1 - factors.write_1h)
        return saved * rate_in / 1_000_000


@dataclass(frozen=True)
class ImageNative:
    """A model's native image size: the longest edge and the most pixels it reads without scaling an image down."""

    max_edge: int = 1568
    max_pixels: int = 1_150_000


@dataclass(frozen=True)
class Vision:
    """Image and PDF limits common to every model, and the size of one visual token."""

    patch_px: int
    max_px: int
    many_images_above: int
    many_images_max_px: int
    max_images: int
    max_image_bytes: int
    max_request_bytes: int
    max_pdf_pages: int


@dataclass(frozen=True)
class CachePrices:
    """Prompt-cache prices as multiples of a model's input price."""

    write_5m: float
    write_1h: float
    read: float


@dataclass(frozen=True)
class ServerToolPrice:
    """The fee of an Anthropic-defined tool that runs on the API's side, on top of tokens."""

    name: str  # the tool type without its date: web_search for web_search_20250305
    usd_per_use: float
    usage_field: str  # the field of usage.server_tool_use that counts this call's uses
    limit_field: str  # the field of the tool's definition that caps uses in one request


THINKING_TYPES = ("adaptive", "enabled", "disabled", "between_tools")
"""Every ``thinking.type`` the API knows; each model accepts some of them."""
THINKING_OFF = ("disabled", "between_tools")
"""The types that turn up-front thinking off (``between_tools`` still lets progress notes through between tool calls)."""
EFFORT_LEVELS = ("low", "medium", "high", "xhigh", "max")
TOKENIZERS = ("earlier", "4.7+")


@dataclass(frozen=True)
class Thinking:
    """How a model thinks: what ``thinking`` settings it accepts, and what it does when a request sets none."""

    types: tuple[str, ...]
    default: str
    display: str  # summarized | omitted: what a thinking block shows unless the request sets thinking.display
    off_efforts: Optional[tuple[str, ...]] = None  # effort levels allowed with thinking off; None: any
    binds_blocks: bool = False  # its thinking blocks are tied to the model and to the conversation before them

    def accepts(self, thinking_type: str) -> bool:
        return thinking_type in self.types

    @property
    def supported(self) -> bool:
        return any(t in self.types for t in ("adaptive", "enabled"))

    @property
    def on_by_default(self) -> bool:
        return self.default not in THINKING_OFF

    @property
    def always_on(self) -> bool:
        """No way to turn up-front thinking off: neither ``disabled`` nor ``between_tools`` is accepted."""
        return self.supported and not any(t in self.types for t in THINKING_OFF)

    @property
    def off_type(self) -> Optional[str]:
        """The ``thinking.type`` that turns thinking off on this model, if any."""
        return next((t for t in THINKING_OFF if t in self.types), None)


@dataclass(frozen=True)
class Effort:
    levels: tuple[str, ...]
    default: str


@dataclass(frozen=True)
class FastMode:
    """How a model serves ``speed: "fast"``."""

    beta: Optional[str] = None  # the anthropic-beta value it needs for that (None: it needs none)


@dataclass(frozen=True)
class ModelEntry:
    id: str
    display_name: str
    line: Optional[str]
    released: date
    context_window: int
    max_output_tokens: int
    price: Price
    supports_prefill: bool
    lifecycle: str  # active | deprecated | retired
    snapshot: Optional[str] = None
    aliases: tuple[str, ...] = ()
    supports_temperature: bool = True
    supports_system_messages: bool = False
    thinking: Thinking = Thinking(types=("disabled",), default="disabled", display="summarized")
    effort: Optional[Effort] = None  # None: the model takes no output_config.effort
    tokenizer: str = "earlier"
    forced_tool_use: bool = True
    min_cacheable_tokens: Optional[int] = None
    image_max_edge: int = 1568  # pixels on the long edge the model reads natively; larger images are scaled down
    image_max_pixels: int = 1_150_000  # and the most pixels in all
    fast_mode: Optional[FastMode] = None  # None: speed "fast" is refused
    features: Mapping[str, bool] = field(default_factory=dict, hash=False)  # Models API capability flags
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)  # fact -> keys of sources()
    legacy: bool = False
    invite_only: bool = False
    deprecated_at: Optional[date] = None
    retires_at: Optional[date] = None
    unconfirmed: tuple[str, ...] = field(default=())

    @property
    def resolved_id(self) -> str:
        """The id the API reports back: the dated snapshot where the model has one."""
        return self.snapshot or self.id

    @property
    def image_native(self) -> "ImageNative":
        """The largest image the model reads as it is; a larger one is scaled down first (and billed so)."""
        return ImageNative(self.image_max_edge, self.image_max_pixels)

    @property
    def retired(self) -> bool:
        return self.lifecycle == "retired"

    @property
    def all_ids(self) -> tuple[str, ...]:
        return (self.id, *((self.snapshot,) if self.snapshot else ()), *self.aliases)


def _date(value: Optional[str]) -> Optional[date]:
    return date.fromisoformat(value) if value else None


def _thinking(raw: dict) -> Thinking:
    off = raw.get("off_efforts")
    return Thinking(
        types=tuple(raw["types"]),
        default=raw["default"],
        display=raw["display"],
        off_efforts=tuple(off) if off is not None else None,
        binds_blocks=raw.get("binds_blocks", False),
    )


def _effort(raw: Optional[dict]) -> Optional[Effort]:
    return Effort(levels=tuple(raw["levels"]), default=raw["default"]) if raw else None


def _entry(raw: dict, feature_defaults: Mapping[str, bool]) -> ModelEntry:
    price = raw["price"]
    long = price.get("long_context") or {}
    return ModelEntry(
        id=raw["id"],
        display_name=raw["display_name"],
        line=raw.get("line"),
        released=_date(raw["released"]),
        context_window=raw["context_window"],
        max_output_tokens=raw["max_output_tokens"],
        price=Price(
            input=price["input"],
            output=price["output"],
            long_context_above=long.get("above_input_tokens"),
            long_context_input=long.get("input"),
            long_context_output=long.get("output"),
        ),
        supports_prefill=raw["supports_prefill"],
        lifecycle=raw["lifecycle"],
        snapshot=raw.get("snapshot"),
        aliases=tuple(raw.get("aliases", ())),
        supports_temperature=raw.get("temperature", True),
        supports_system_messages=raw.get("system_messages", False),
        thinking=_thinking(raw["thinking"]),
        effort=_effort(raw.get("effort")),
        tokenizer=raw["tokenizer"],
        forced_tool_use=raw.get("forced_tool_use", True),
        min_cacheable_tokens=raw["min_cacheable_tokens"],
        image_max_edge=raw.get("image_max_edge", 1568),
        image_max_pixels=raw.get("image_max_pixels", 1_150_000),
        fast_mode=FastMode(beta=raw["fast_mode"].get("beta")) if "fast_mode" in raw else None,
        features=MappingProxyType({**feature_defaults, **raw.get("features", {})}),
        sources=MappingProxyType({fact: tuple(keys) for fact, keys in raw.get("sources", {}).items()}),
        legacy=raw.get("legacy", False),
        invite_only=raw.get("invite_only", False),
        deprecated_at=_date(raw.get("deprecated_at")),
        retires_at=_date(raw.get("retires_at")),
        unconfirmed=tuple(raw.get("unconfirmed", ())),
    )


@lru_cache(maxsize=1)
def _raw() -> dict:
    return json.loads(CATALOG_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def models() -> tuple[ModelEntry, ...]:
    """Every model the kit knows, newest first."""
    raw = _raw()
    defaults = {k: v for k, v in raw["feature_defaults"].items() if not k.startswith("_")}
    return tuple(sorted((_entry(r, defaults) for r in raw["models"]), key=lambda m: m.released, reverse=True))


@lru_cache(maxsize=1)
def vision() -> Vision:
    """The limits of image and PDF input, and the visual token's size (source in ``models.json``)."""
    raw = _raw()["vision"]
    return Vision(**{k: v for k, v in raw.items() if not k.startswith("_")})


@lru_cache(maxsize=1)
def cache_prices() -> CachePrices:
    """What cache writes (per TTL) and reads cost, as multiples of the input price (source in ``models.json``)."""
    raw = _raw()["cache_prices"]
    return CachePrices(write_5m=raw["write_5m"], write_1h=raw["write_1h"], read=raw["read"])


@lru_cache(maxsize=1)
def batch_multiplier() -> float:
    """What a Message Batch's usage costs, as a multiple of the standard prices (source in ``models.json``)."""
    return float(_raw()["batch_prices"]["multiplier"])


@lru_cache(maxsize=1)
def server_tool_prices() -> tuple[ServerToolPrice, ...]:
    """The per-use fees of Anthropic-defined tools that the catalog knows (source in ``models.json``)."""
    raw = _raw()["server_tool_prices"]
    return tuple(ServerToolPrice(name=name, **fields) for name, fields in raw.items() if not name.startswith("_"))


def server_tool_price(tool_type: str) -> Optional[ServerToolPrice]:
    """The fee of a tool type such as ``web_search_20250305``; None when the catalog lists none."""
    base = tool_type.rsplit("_", 1)[0] if tool_type.rsplit("_", 1)[-1].isdigit() else tool_type
    return next((p for p in server_tool_prices() if p.name == base), None)


def server_tool_fees_usd(usage: Mapping) -> float:
    """Dollars for the server-tool uses a response's ``usage.server_tool_use`` reports."""
    # A dict first: the check of the Mapping ABC takes longer than the rest, and a response's usage is a dict.
    used = usage.get("server_tool_use") if isinstance(usage, dict) or isinstance(usage, Mapping) else None
    if used is None or not (isinstance(used, dict) or isinstance(used, Mapping)):
        return 0.0
    total = 0.0
    for price in server_tool_prices():
        count = used.get(price.usage_field)
        if isinstance(count, int) and not isinstance(count, bool) and count > 0:
            total += count * price.usd_per_use
    return total


def sources() -> Mapping[str, str]:
    """The catalog's table of sources: a key (as named in an entry's ``sources``) to a page or SDK file."""
    return MappingProxyType(_raw()["sources"])


@lru_cache(maxsize=1)
def _by_id() -> dict[str, ModelEntry]:
    return {model_id: entry for entry in models() for model_id in entry.all_ids}


def lookup(model_id: str) -> Optional[ModelEntry]:
    """The entry for any id the kit knows (alias, snapshot or old alias), else None."""
    return _by_id().get(model_id)


def get(model_id: str) -> ModelEntry:
    """Like ``lookup`` but raises a KeyError that lists the models to pick from."""
    entry = lookup(model_id)
    if entry is None:
        raise KeyError(
            f"{model_id!r} is not in the kit's model catalog. "
            f"Available models: {', '.join(m.id for m in available())}"
        )
    return entry


def known_ids() -> frozenset[str]:
    return frozenset(_by_id())


def available() -> list[ModelEntry]:
    """Models the API still serves (active or deprecated), newest first."""
    return [m for m in models() if not m.retired]


def retired() -> list[ModelEntry]:
    return [m for m in models() if m.retired]


def cost_usd(model_id: str, input_tokens: int, output_tokens: int, **cache_tokens: int) -> float:
    """Dollars for one call; ``cache_read``, ``cache_write_5m`` and ``cache_write_1h`` tokens are optional."""
    return get(model_id).price.cost_usd(input_tokens, output_tokens, **cache_tokens)


@lru_cache(maxsize=1)
def free_betas() -> frozenset[str]:
    """``anthropic-beta`` values that cost nothing the kit does not already price (sources in ``models.json``)."""
    return frozenset(name for name in _raw().get("free_betas", {}) if not name.startswith("_"))
