"""The index's label bookkeeping (services/matcher/labels.py): GUID face ids held as 16 bytes,
other ids as strings, the same answers as the dicts it replaced, and its memory per face."""

from __future__ import annotations

import tracemalloc
import uuid
from pathlib import Path

import numpy as np
import pytest

from services.matcher import labels as labels_module
from services.matcher.config import MatcherConfig
from services.matcher.gallery import ChangeSet, FaceRow, Gallery
from services.matcher.index import ModelIndex
from services.matcher.labels import KEY, LabelMap, guid_keys, guid_strings
from services.matcher.synthetic import gallery, guids, queries


def test_canonical_guids_are_keys_and_every_other_id_stays_text() -> None:
    ids = [
        str(uuid.uuid4()),
        "f1",
        str(uuid.uuid4()).upper(),  # written back it would be lowercase: kept as text
        "00000000-0000-0000-0000-000000000000",  # the nil GUID's key marks "no GUID"
        "{" + str(uuid.uuid4())[1:-1] + "}",
        "g" * 36,
        "é" * 36,
        str(uuid.uuid4()).replace("-", "_"),
    ]
    keys, guid = guid_keys(ids)
    assert guid.tolist() == [True] + [False] * 7
    assert guid_strings(keys[guid]) == ids[:1]
    assert uuid.UUID(bytes=keys[0].ljust(16, b"\0")) == uuid.UUID(ids[0])


def test_guids_written_out_round_trip() -> None:
    raw = guids(1000)
    text = guid_strings(raw.view(KEY).ravel())
    assert [str(uuid.UUID(t)) for t in text] == text and len(set(text)) == 1000
    keys, guid = guid_keys(text)
    assert guid.all() and keys.tobytes() == raw.tobytes()


def test_lookups_removals_and_member_chains(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labels_module, "MIN_MERGE", 8)  # the sorted arrays take part at once
    m = LabelMap()
    faces = [str(uuid.uuid4()) for _ in range(60)] + [f"odd{i}" for i in range(20)]
    members = [f"m{i % 7}" for i in range(80)]
    m.add(list(range(80)), faces, members)
    assert len(m) == 80 and m.labels_of(faces).tolist() == list(range(80))
    assert m.labels_of(["nope", str(uuid.uuid4())]).tolist() == [-1, -1]
    assert m.face_ids([0, 61, 79]) == [faces[0], faces[61], faces[79]]
    assert m.member_ids(np.array([3, 10])) == ["m3", "m3"]
    n = m.number_of("m3")
    assert n is not None and m.siblings(n) == [3, 10, 17, 24, 31, 38, 45, 52, 59, 66, 73]
    m.remove([10, 3, 73, 70])
    assert m.siblings(n) == [17, 24, 31, 38, 45, 52, 59, 66] and m.count(n) == 8
    assert m.labels_of([faces[3], faces[10], faces[70], faces[73]]).tolist() == [-1] * 4
    assert m.alive(np.array([3, 17, 70, 500])).tolist() == [False, True, False, False]
    # A removed face added again under a new label; a freed label reused by another face (the
    # exact index reuses rows): the sorted arrays' old entries do not count.
    m.add([80, 3], [faces[10], faces[70]], ["m9", "m9"])
    assert m.labels_of([faces[10], faces[70], faces[3]]).tolist() == [80, 3, -1]
    assert m.face_ids([3, 80]) == [faces[70], faces[10]]
    # A member whose last face goes is forgotten; its number is reused.
    m.remove([80, 3])
    assert m.number_of("m9") is None
    m.add([81], [str(uuid.uuid4())], ["m10"])
    assert m.number_of("m10") is not None
    with pytest.raises(KeyError):
        m.face_ids([3])


def test_colliding_hashes_are_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labels_module, "MIN_MERGE", 8)
    # Both halves equal: every key hashes (xor of the halves) to 0.
    same = [str(uuid.UUID(int=(i << 64) | i)) for i in range(1, 200)]
    m = LabelMap()
    m.add(list(range(len(same))), same, ["a"] * len(same))
    assert len(m._recent) < len(same)  # merged into the sorted arrays
    assert m.labels_of(same).tolist() == list(range(len(same)))
    m.remove([5])
    assert m.labels_of(same[4:7]).tolist() == [4, -1, 6]


def test_the_index_answers_as_before_with_guid_ids(tmp_path: Path) -> None:
    """GUID face and member ids through the gallery: search, replace, remove, snapshot."""
    from services.matcher import cache

    cfg = MatcherConfig(exact_max=300)
    templates, owner, centres = gallery(900, 128, seed=7)
    face = guid_strings(guids(900, seed=5).view(KEY).ravel())
    member = guid_strings(guids(int(owner.max()) + 1, seed=6).view(KEY).ravel())
    g = Gallery(cfg)
    g.apply(ChangeSet(after=0, upto=0, watchlists={"w": 40}, members={m: ["w"] for m in member}))
    rows = [FaceRow(face[i], member[o], "m", templates[i].tobytes()) for i, o in enumerate(owner)]
    g.apply(ChangeSet(after=0, upto=5, faces=rows))
    g.apply(ChangeSet(after=5, upto=6, removed_faces=face[:50]))
    g.apply(ChangeSet(after=6, upto=7, faces=rows[10:20]))  # back again
    index = g.models["m"]
    assert index.kind == "hnsw" and len(index) == 860
    assert set(index.label_of) == set(face[10:20] + face[50:])
    probes = queries(40, owner, centres)
    live = np.r_[10:20, 50:900]
    exact = live[np.argmax(probes @ templates[live].T, axis=1)]
    found = g.search([p.tobytes() for p in probes], "m", [], 0, 1)
    assert [r[0].face_id for r in found] == [face[i] for i in exact]
    assert [r[0].member_id for r in found] == [member[owner[i]] for i in exact]
    assert cache.snapshot(g, tmp_path) == 7
    loaded = cache.restore(tmp_path, cfg, 1)
    assert loaded.search([p.tobytes() for p in probes], "m", [], 0, 3) == g.search(
        [p.tobytes() for p in probes], "m", [], 0, 3
    )


def test_bookkeeping_stays_under_150_bytes_a_face() -> None:
    """The dicts it replaced held ~235 bytes a face measured so, plus each face id's string
    (~88 bytes for a GUID); this holds ~100-125 (arrays grown by doubling, the recent keys'
    dict, and per member a dict entry and its chain's ends)."""
    size = 200_000
    _, owner, _ = gallery(size, 8, seed=1)
    face = guid_strings(guids(size, seed=5).view(KEY).ravel())
    member = guid_strings(guids(int(owner.max()) + 1, seed=6).view(KEY).ravel())
    members = [member[o] for o in owner.tolist()]
    tracemalloc.start()
    try:
        index = ModelIndex(8, MatcherConfig(exact_max=size))  # exact: no graph in the figure
        before = tracemalloc.get_traced_memory()[0]
        labels = index.labels
        for start in range(0, size, 2000):
            labels.add(list(range(start, start + 2000)), face[start : start + 2000], members[start : start + 2000])
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(labels) == size
    assert used / size < 150, used / size
