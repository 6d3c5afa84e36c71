"""The rule that picks HNSW parameters from a gallery's size (services/matcher/tuning.py)."""

from __future__ import annotations

import pytest

from services.matcher import tuning
from services.matcher.config import MatcherConfig, load_config
from services.matcher.tuning import BuildParams, build_params, needs_rebuild, search_ef

DEFAULTS = MatcherConfig()


@pytest.mark.parametrize(
    ("size", "m"),
    [(10_001, 16), (100_000, 16), (200_000, 16), (200_001, 24), (500_000, 24), (500_001, 32), (1_000_000, 32),
     (5_000_000, 32)],
)  # fmt: skip
def test_degree_grows_with_the_size_class(size: int, m: int) -> None:
    assert build_params(size, DEFAULTS) == BuildParams(m=m, ef_construction=200)


@pytest.mark.parametrize(
    ("size", "ef"), [(1_000, 96), (100_000, 321), (200_000, 384), (500_000, 512), (1_000_000, 640)]
)
def test_ef_at_the_measured_sizes(size: int, ef: int) -> None:
    assert search_ef(size, DEFAULTS) == ef


def test_ef_never_falls_as_the_gallery_grows() -> None:
    sizes = [int(1_000 * 1.05**i) for i in range(200)]  # 1k .. ~17M
    efs = [search_ef(n, DEFAULTS) for n in sizes]
    assert efs == sorted(efs)
    assert efs[-1] == tuning.EF_MAX
    # Beyond the last measured size it grows as the square root of the size.
    assert search_ef(4_000_000, DEFAULTS) == 1280


def test_ef_is_never_below_a_class_degree() -> None:
    for c in tuning.CLASSES:
        assert c.ef_low >= 2 * c.m and c.ef_low <= c.ef_high
    for before, after in zip(tuning.CLASSES, tuning.CLASSES[1:], strict=False):
        assert before.high == after.low and before.ef_high <= after.ef_low and before.m < after.m


def test_pinned_settings_hold_at_every_size() -> None:
    cfg = MatcherConfig(hnsw_m=12, hnsw_ef_construction=100, hnsw_ef=40)
    for size in (20_000, 300_000, 2_000_000):
        assert build_params(size, cfg) == BuildParams(m=12, ef_construction=100)
        assert search_ef(size, cfg) == 40
    # One pinned, the others from the size.
    only_ef = MatcherConfig(hnsw_ef=96)
    assert build_params(1_000_000, only_ef) == BuildParams(m=32, ef_construction=200)
    assert search_ef(1_000_000, only_ef) == 96


def test_a_graph_is_rebuilt_when_it_grows_into_a_denser_class_only() -> None:
    small = BuildParams(m=16, ef_construction=200)
    assert not needs_rebuild(small, 150_000, DEFAULTS)
    assert needs_rebuild(small, 250_000, DEFAULTS)
    # A denser graph than the size needs is kept (shrinking does not rebuild).
    assert not needs_rebuild(BuildParams(m=32, ef_construction=200), 50_000, DEFAULTS)
    # Pins: a graph built otherwise is rebuilt, one built as pinned never is.
    pinned = MatcherConfig(hnsw_m=16)
    assert needs_rebuild(BuildParams(m=32, ef_construction=200), 50_000, pinned)
    assert not needs_rebuild(small, 2_000_000, pinned)
    assert needs_rebuild(small, 1_000, MatcherConfig(hnsw_ef_construction=400))


def test_settings_from_the_environment() -> None:
    assert load_config({}).hnsw_m is None and load_config({"FACEGATE_MATCHER_HNSW_M": ""}).hnsw_m is None
    cfg = load_config({"FACEGATE_MATCHER_HNSW_M": "24", "FACEGATE_MATCHER_HNSW_EF": "300"})
    assert cfg.hnsw_m == 24 and cfg.hnsw_ef == 300 and cfg.hnsw_ef_construction is None
    with pytest.raises(SystemExit):
        load_config({"FACEGATE_MATCHER_HNSW_M": "2"})
    # The cache manifest names the rule and the pins.
    assert tuning.policy(DEFAULTS) != tuning.policy(cfg)
