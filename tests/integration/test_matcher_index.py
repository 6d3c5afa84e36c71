"""The matcher's index on its own: recall of HNSW against exact search, slot reuse, the
watchlist filter, and a save/load round trip (no servers needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.matcher.config import MatcherConfig
from services.matcher.gallery import ChangeSet, FaceRow, Gallery
from services.matcher.index import ModelIndex
from services.matcher.synthetic import gallery, queries

DIM = 512
Built = tuple[ModelIndex, np.ndarray, np.ndarray, np.ndarray]


def accept_all(_member: str, _sim: float) -> bool:
    return True


def build(size: int, cfg: MatcherConfig, seed: int = 0) -> Built:
    templates, owner, centres = gallery(size, DIM, seed=seed)
    index = ModelIndex(DIM, cfg)
    ids = [f"f{i}" for i in range(size)]
    index.add(ids, [f"m{o}" for o in owner], templates, threads=2)
    return index, templates, owner, centres


@pytest.fixture(scope="module")
def big() -> Built:
    return build(20_000, MatcherConfig(exact_max=1000))


def test_hnsw_recall_at_rank_1_matches_exact_on_20k(big: Built) -> None:
    index, templates, owner, centres = big
    assert index.kind == "hnsw"
    probes = queries(500, owner, centres)
    exact = np.argmax(probes @ templates.T, axis=1)
    hits = index.search(probes, 1, accept_all, -1.0, lambda: [])
    found = np.array([int(h[0][0][1:]) for h in hits])
    assert np.mean(owner[exact] == found) >= 0.99  # right member
    same = np.array([index.face_of[h[0][2]] for h in hits]) == np.array([f"f{i}" for i in exact])
    assert np.mean(same) >= 0.99  # and its best face
    # Scores are exact inner products of the stored vectors.
    sims = np.array([h[0][1] for h in hits])
    np.testing.assert_allclose(sims[same], np.max(probes @ templates.T, axis=1)[same], atol=1e-5)


def test_deleted_slots_are_reused_and_never_returned() -> None:
    index, templates, _, _ = build(3000, MatcherConfig(exact_max=100), seed=3)
    assert index._hnsw is not None
    capacity = index._hnsw.get_max_elements()
    gone = [f"f{i}" for i in range(0, 3000, 3)]
    index.remove(gone)
    assert index.deleted == len(gone)
    # Removed faces are never found, even searching with their own template.
    hits = index.search(templates[:30:3], 1, accept_all, -1.0, lambda: [])
    assert all(index.face_of[h[0][2]] not in gone for h in hits)
    # New faces take the deleted slots: the graph does not grow.
    fresh, fresh_owner, _ = gallery(len(gone), DIM, seed=4)
    index.add([f"new{i}" for i in range(len(gone))], [f"n{o}" for o in fresh_owner], fresh)
    assert index.deleted == 0
    assert index._hnsw.get_current_count() == 3000 and index._hnsw.get_max_elements() == capacity
    hits = index.search(fresh[:20], 1, accept_all, -1.0, lambda: [])
    assert [index.face_of[h[0][2]] for h in hits] == [f"new{i}" for i in range(20)]


def test_filter_keeps_only_accepted_members_even_far_down(big: Built) -> None:
    index, templates, owner, centres = big
    allowed = {f"m{o}" for o in np.unique(owner)[:40]}  # a small watchlist
    probes = queries(30, owner, centres, seed=9)
    hits = index.search(probes, 3, lambda m, s: m in allowed, -1.0, lambda: allowed)
    for per_query, probe in zip(hits, probes, strict=True):
        assert len(per_query) == 3 and all(m in allowed for m, _, _ in per_query)
        rows = [i for i, o in enumerate(owner) if f"m{o}" in allowed]
        best = rows[int(np.argmax(templates[rows] @ probe))]
        assert per_query[0][0] == f"m{owner[best]}"  # the best allowed member, found exactly


def test_exact_mode_below_the_configured_size() -> None:
    index, templates, owner, centres = build(500, MatcherConfig(exact_max=1000), seed=5)
    assert index.kind == "exact"
    probes = queries(50, owner, centres, seed=2)
    hits = index.search(probes, 1, accept_all, -1.0, lambda: [])
    exact = np.argmax(probes @ templates.T, axis=1)
    assert [index.face_of[h[0][2]] for h in hits] == [f"f{i}" for i in exact]
    # Above the floor only: nothing passes a floor above every similarity.
    assert index.search(probes[:5], 1, accept_all, 1.01, lambda: []) == [[]] * 5


@pytest.mark.parametrize("exact_max", [10_000, 100])
def test_gallery_snapshot_round_trip(tmp_path: Path, exact_max: int) -> None:
    from services.matcher import cache

    cfg = MatcherConfig(exact_max=exact_max)
    templates, owner, centres = gallery(800, 128, seed=7)
    g = Gallery(cfg)
    rows = [FaceRow(f"f{i}", f"m{o}", "dlib", templates[i].tobytes()) for i, o in enumerate(owner)]
    g.apply(ChangeSet(after=0, upto=0, watchlists={"w": 40}, members={f"m{o}": ["w"] for o in owner}))
    g.apply(ChangeSet(after=0, upto=9, faces=rows, removed_faces=[]))
    g.apply(ChangeSet(after=9, upto=10, removed_faces=["f1", "f2"]))
    assert cache.snapshot(g, tmp_path) == 10
    loaded = cache.restore(tmp_path, cfg, 1)
    probes = [q.tobytes() for q in queries(20, owner, centres)]
    assert loaded.seq == 10 and loaded.thresholds == {"w": 40}
    found = g.search(probes, "dlib", [], 0, 3)
    assert all(len(r) == 3 for r in found) and loaded.search(probes, "dlib", [], 0, 3) == found
    assert {c.face_id for r in found for c in r}.isdisjoint({"f1", "f2"})
