"""Matcher settings: `FACEGATE_MATCHER_*` environment variables, read once at start.

They live here rather than in `shared.settings` because only the matcher reads them; the shared
loader reads them (`from_environment`: a bad value exits 1 with a clear message).
docs/matcher.md lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import msgspec

from shared.gallery_log import DEFAULT_CACHE_KEY
from shared.settings import from_environment

PREFIX = "FACEGATE_MATCHER_"

Positive = Annotated[int, msgspec.Meta(ge=1)]


class MatcherConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Each field is `FACEGATE_MATCHER_<FIELD>`."""

    # Galleries (per model) up to this many templates are searched exactly with numpy; above it
    # an HNSW graph is built. Exact search reads every template per query (~1 ms for 10k x 512,
    # memory-bound), so small sites lose no recall and still answer ~1k searches/s per core.
    exact_max: Annotated[int, msgspec.Meta(ge=0)] = 10_000
    # HNSW graph degree, build effort and search breadth (hnswlib `M`, `ef_construction`, `ef`).
    # Unset (the default): chosen from the gallery's size (services/matcher/tuning.py) so that
    # recall@1 stays >= 0.99 up to 1M templates; set, the value holds for every size.
    hnsw_m: Annotated[int, msgspec.Meta(ge=4, le=128)] | None = None
    hnsw_ef_construction: Annotated[int, msgspec.Meta(ge=16)] | None = None
    hnsw_ef: Annotated[int, msgspec.Meta(ge=8)] | None = None
    # Candidates taken from the index per wanted result before the watchlist filter.
    oversample: Annotated[int, msgspec.Meta(ge=1)] = 4
    # Compact an index (rebuild without deleted slots) when deleted slots exceed this fraction.
    compact_ratio: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.3
    # Redis key prefix of the cached index, and the size of one stored segment.
    cache_key: str = DEFAULT_CACHE_KEY  # cleanup reads the same variable (shared/gallery_log.py)
    cache_segment_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 64 * 1024 * 1024
    # Save the index to Redis after this many applied changes or seconds (whichever first);
    # 0 switches saving off (replicas then always start from Postgres).
    cache_save_changes: Annotated[int, msgspec.Meta(ge=0)] = 1000
    cache_save_interval_s: Annotated[float, msgspec.Meta(ge=0)] = 300.0
    # Safety net beside the JetStream notifications: look for missed changes this often.
    poll_s: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    # How long a search carrying `min_seq` waits for this replica to reach that change.
    read_your_writes_wait_s: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    # Rows read from the change log (and faces from Postgres) per batch.
    batch: Positive = 2000


def load_config(environ: Mapping[str, str] | None = None) -> MatcherConfig:
    """The config from `FACEGATE_MATCHER_*`; exit 1 with a readable message if invalid."""
    return from_environment(MatcherConfig, PREFIX, "docs/matcher.md", environ)
