"""HNSW parameters from the gallery's size, end to end: recall with the default settings, a
graph rebuilt denser while changes go on, and the Redis cache following the rebuilt graph."""

from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest
import redis.asyncio as aioredis

from services.matcher import cache, tuning
from services.matcher.config import MatcherConfig
from services.matcher.gallery import ChangeSet, FaceRow, Gallery
from services.matcher.index import ModelIndex
from services.matcher.synthetic import gallery, queries
from services.matcher.tuning import BuildParams, SizeClass
from tests.support import Servers

DIM = 128  # the shipped model's template length

# Two small classes stand for the real ones (200k, 500k, 1M) so that a test can cross them.
SMALL_CLASSES = (
    SizeClass(0, 2_000, m=8, ef_construction=40, ef_low=32, ef_high=48),
    SizeClass(2_000, 20_000, m=16, ef_construction=100, ef_low=64, ef_high=96),
)


def accept_all(_member: str, _sim: float) -> bool:
    return True


def rows_of(templates: np.ndarray, owner: np.ndarray, model: str = "x") -> list[FaceRow]:
    return [FaceRow(f"f{i}", f"m{o}", model, templates[i].tobytes()) for i, o in enumerate(owner)]


def test_default_settings_find_the_nearest_template_on_20k_x_128() -> None:
    cfg = MatcherConfig()
    templates, owner, centres = gallery(20_000, DIM, seed=12)
    index = ModelIndex(DIM, cfg)
    for start in range(0, len(templates), 5_000):  # grown in batches, as changes arrive
        end = start + 5_000
        index.add([f"f{i}" for i in range(start, end)], [f"m{o}" for o in owner[start:end]], templates[start:end], 2)
    assert index.kind == "hnsw" and not index.needs_rebuild()
    assert index.built == tuning.build_params(20_000, cfg) and index.ef == tuning.search_ef(20_000, cfg)
    probes = queries(1000, owner, centres, seed=13)
    exact = np.argmax(probes @ templates.T, axis=1)
    hits = index.search(probes, 1, accept_all, -1.0, lambda: [])
    found = np.array([index.face_of[h[0][2]] for h in hits])
    assert np.mean(found == np.array([f"f{i}" for i in exact])) >= 0.99


def test_a_growing_graph_is_rebuilt_denser_while_changes_go_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tuning, "CLASSES", SMALL_CLASSES)
    cfg = MatcherConfig(exact_max=100)
    templates, owner, centres = gallery(6_000, DIM, seed=21)
    rows = rows_of(templates, owner)
    g = Gallery(cfg, threads=1)
    g.apply(ChangeSet(after=0, upto=1, faces=rows[:1_500]))
    before = g.models["x"]
    assert before.built == BuildParams(m=8, ef_construction=40) and g.due_for_rebuild() == []
    g.apply(ChangeSet(after=1, upto=2, faces=rows[1_500:3_000]))
    assert g.due_for_rebuild() == ["x"]

    # The rebuild runs in its own thread, copying 200 vectors at a time, while changes land.
    result: list[bool] = []
    worker = threading.Thread(target=lambda: result.append(g.rebuild("x", chunk=200)))
    removed = {f"f{i}" for i in range(0, 3_000, 7)}
    worker.start()
    g.apply(ChangeSet(after=2, upto=3, removed_faces=sorted(removed)))
    for n, start in enumerate(range(3_000, 5_000, 250)):
        g.apply(ChangeSet(after=3 + n, upto=4 + n, faces=rows[start : start + 250]))
    worker.join()
    g.apply(ChangeSet(after=20, upto=21, faces=rows[5_000:], removed_faces=["f3001"]))
    g.apply(ChangeSet(after=21, upto=22, removed_faces=["f5001"]))
    removed |= {"f5001", "f3001"}

    after = g.models["x"]
    assert result == [True] and after is not before and g.rebuilds == 1
    assert after.built == BuildParams(m=16, ef_construction=100) and g.due_for_rebuild() == []
    live = {f"f{i}" for i in range(6_000)} - removed
    assert set(after.label_of) == live and after.ef == tuning.search_ef(len(live), cfg)
    assert after._hnsw is not None and after._hnsw.get_current_count() - after.deleted == len(live)
    # Every live face is found by its own template; a removed one never is.
    sample = sorted(live)[::20]
    hits = after.search(templates[[int(f[1:]) for f in sample]], 1, accept_all, -1.0, lambda: [])
    assert [after.face_of[h[0][2]] for h in hits] == sample
    gone = sorted(removed)[:50]
    hits = after.search(templates[[int(f[1:]) for f in gone]], 1, accept_all, -1.0, lambda: [])
    assert not {after.face_of[h[0][2]] for h in hits} & removed
    # Same answers as exact search for fresh probes (a small gallery: every one).
    probes = queries(200, owner[:5_000], centres, seed=3)
    alive = np.array(sorted(int(f[1:]) for f in live))
    exact = alive[np.argmax(probes @ templates[alive].T, axis=1)]
    hits = after.search(probes, 1, accept_all, -1.0, lambda: [])
    assert np.mean(np.array([after.face_of[h[0][2]] for h in hits]) == np.array([f"f{i}" for i in exact])) >= 0.99


def test_a_load_that_announces_its_size_builds_once_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tuning, "CLASSES", SMALL_CLASSES)
    templates, owner, _ = gallery(3_000, DIM, seed=5)
    g = Gallery(MatcherConfig(exact_max=100))
    g.apply(ChangeSet(after=0, upto=0, sizes={"x": 3_000}))
    for start in range(0, 3_000, 500):
        g.apply(ChangeSet(after=0, upto=0, faces=rows_of(templates, owner)[start : start + 500]))
    assert g.models["x"].built == BuildParams(m=16, ef_construction=100) and g.due_for_rebuild() == []


def test_snapshot_keeps_each_graphs_parameters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tuning, "CLASSES", SMALL_CLASSES)
    cfg = MatcherConfig(exact_max=100)
    templates, owner, _ = gallery(2_500, DIM, seed=8)
    g = Gallery(cfg)
    g.apply(ChangeSet(after=0, upto=5, faces=rows_of(templates[:1_000], owner[:1_000])))
    g.apply(ChangeSet(after=5, upto=6, faces=rows_of(templates, owner)[1_000:]))
    cache.snapshot(g, tmp_path)
    loaded = cache.restore(tmp_path, cfg, 1)
    # A graph built for 1k (M 8) holding 2.5k: loaded as it is, its ef from its size, and due.
    index = loaded.models["x"]
    assert index.built == BuildParams(m=8, ef_construction=40) and index.ef == tuning.search_ef(2_500, cfg)
    assert loaded.due_for_rebuild() == ["x"] and loaded.maintain() == ["x"]
    assert loaded.models["x"].built == BuildParams(m=16, ef_construction=100)


def test_a_rebuilt_graph_replaces_the_cached_one_at_the_same_position(
    servers: Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tuning, "CLASSES", SMALL_CLASSES)
    cfg = MatcherConfig(exact_max=100, cache_key=f"facegate:test:{uuid.uuid4().hex[:8]}")
    templates, owner, _ = gallery(2_500, DIM, seed=9)
    g = Gallery(cfg)
    g.apply(ChangeSet(after=0, upto=5, faces=rows_of(templates[:1_000], owner[:1_000])))
    g.apply(ChangeSet(after=5, upto=6, faces=rows_of(templates, owner)[1_000:]))

    async def save(name: str) -> bool:
        client = aioredis.from_url(servers.redis_url)
        try:
            folder = tmp_path / name
            seq = cache.snapshot(g, folder)
            return await cache.save(client, cfg, folder, seq, "db", name)
        finally:
            await client.aclose()

    async def fetch(name: str) -> Gallery:
        client = aioredis.from_url(servers.redis_url)
        try:
            manifest = await cache.fetch(client, cfg, tmp_path / name, "db", 0, 6)
            assert manifest is not None and manifest.seq == 6
            return cache.restore(tmp_path / name, cfg, 1)
        finally:
            await client.aclose()

    assert asyncio.run(save("first"))
    assert not asyncio.run(save("again"))  # same position, same graphs: nothing to upload
    assert g.maintain() == ["x"]
    assert asyncio.run(save("rebuilt"))  # same position, rebuilt graph: it replaces the cached one
    loaded = asyncio.run(fetch("load"))
    assert loaded.models["x"].built == BuildParams(m=16, ef_construction=100) and loaded.due_for_rebuild() == []
    # Pinned settings differ from the cached graph: it is loaded all the same, and due.
    pinned = MatcherConfig(exact_max=100, cache_key=cfg.cache_key, hnsw_m=12)
    assert cache.restore(tmp_path / "load", pinned, 1).due_for_rebuild() == ["x"]
