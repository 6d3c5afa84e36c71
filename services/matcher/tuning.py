"""HNSW parameters chosen from the gallery's size (docs/matcher.md, "Parameters by size").

A graph's degree `M` and build effort `ef_construction` are fixed when it is built; the search
breadth `ef` can change at any time. Recall@1 at a fixed `ef` falls as a gallery grows (1M x 128
at M 16, ef 128 found the exact nearest template 83% of the time), so:
- sizes fall into classes, each with its `M` and `ef_construction`; a graph is built for the
  class of its gallery (or of the size a load from Postgres announces), and rebuilt, in the
  background, once the gallery grows into a class with a larger `M` (never for shrinking:
  a denser graph than needed only costs memory);
- `ef` grows with the size inside a class, interpolated on a log scale between the values
  `benchmarks/matcher.py` measured at the class's ends (recall@1 >= 0.99 against exact search
  on synthetic 128-d templates), and beyond the last measured size grows as its square root.
`FACEGATE_MATCHER_HNSW_M`, `_HNSW_EF_CONSTRUCTION` and `_HNSW_EF` pin a value for every size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from services.matcher.config import MatcherConfig

# Bumped whenever the table changes: a cached graph built under another rule is rebuilt.
RULE = 1
EF_MAX = 2048


@dataclass(frozen=True)
class SizeClass:
    """Galleries of `low`..`high` templates: a graph of degree `m`, built with `ef_construction`,
    searched with `ef_low` at `low` templates rising to `ef_high` at `high`."""

    low: int
    high: int
    m: int
    ef_construction: int
    ef_low: int
    ef_high: int


# docs/matcher.md ("Parameters by size") gives the measurements behind each number.
CLASSES = (
    SizeClass(0, 200_000, m=16, ef_construction=200, ef_low=96, ef_high=384),
    SizeClass(200_000, 500_000, m=24, ef_construction=200, ef_low=384, ef_high=512),
    SizeClass(500_000, 1_000_000, m=32, ef_construction=200, ef_low=512, ef_high=640),
)


@dataclass(frozen=True)
class BuildParams:
    """What a graph is built with (hnswlib's `M` and `ef_construction`)."""

    m: int
    ef_construction: int


def size_class(size: int) -> SizeClass:
    """The class of a gallery of `size` templates (the last one above its top)."""
    for c in CLASSES:
        if size <= c.high:
            return c
    return CLASSES[-1]


def build_params(size: int, cfg: MatcherConfig) -> BuildParams:
    """`M` and `ef_construction` for a graph of `size` templates (pinned settings win)."""
    c = size_class(size)
    return BuildParams(
        m=cfg.hnsw_m if cfg.hnsw_m is not None else c.m,
        ef_construction=cfg.hnsw_ef_construction if cfg.hnsw_ef_construction is not None else c.ef_construction,
    )


def search_ef(size: int, cfg: MatcherConfig) -> int:
    """hnswlib's `ef` for a graph of `size` templates (a pinned setting wins)."""
    if cfg.hnsw_ef is not None:
        return cfg.hnsw_ef
    c = size_class(size)
    if size > c.high:  # beyond the measured sizes: grow as sqrt(size)
        return min(EF_MAX, math.ceil(c.ef_high * math.sqrt(size / c.high)))
    low = max(c.low, 1_000)
    if size <= low:
        return c.ef_low
    share = math.log(size / low) / math.log(c.high / low)
    return math.ceil(c.ef_low * (c.ef_high / c.ef_low) ** share)


def needs_rebuild(built: BuildParams, size: int, cfg: MatcherConfig) -> bool:
    """Whether a graph built with `built` should be rebuilt now that it holds `size` templates:
    the size's class wants a larger degree (or the pinned settings differ from the graph's)."""
    want = build_params(size, cfg)
    if cfg.hnsw_m is not None and built.m != want.m:
        return True
    if cfg.hnsw_ef_construction is not None and built.ef_construction != want.ef_construction:
        return True
    return want.m > built.m


def policy(cfg: MatcherConfig) -> str:
    """The rule and pins a cached graph was built under (cache.py's manifest compares it)."""
    pins = f"M={cfg.hnsw_m},efc={cfg.hnsw_ef_construction}"
    return f"rule={RULE},{pins},exact_max={cfg.exact_max}"
