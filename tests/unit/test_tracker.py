"""The tracker (IoU and template bridging, expiry) and the tracklet identity vote."""

from __future__ import annotations

import numpy as np

from services.camera_ingest.identity import Hit, Identity
from services.camera_ingest.session import SaveStrategy
from services.camera_ingest.tracker import Detection, Tracker, TrackerConfig, iou


def unit(seed: int, dim: int = 128) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def near(v: np.ndarray, noise: float, seed: int) -> np.ndarray:
    """A template of the same person: `v` plus a little noise (cosine about 1 - noise^2/2)."""
    w = v + noise * unit(seed, v.size)
    return (w / np.linalg.norm(w)).astype(np.float32)


def box(x: float, y: float = 100, side: float = 100) -> tuple[float, float, float, float]:
    return (x, y, x + side, y + side)


def test_iou() -> None:
    assert iou(box(0), box(0)) == 1.0
    assert iou(box(0), box(200)) == 0.0
    assert abs(iou(box(0), box(50)) - 50 / 150) < 1e-9


def test_a_face_walking_across_is_one_tracklet() -> None:
    tracker = Tracker()
    person = unit(1)
    ids = set()
    for i in range(10):
        ((track, started),) = tracker.assign(i * 0.5, [Detection(box(40.0 * i), near(person, 0.2, i))])
        assert started == (i == 0)
        ids.add(track.id)
    assert len(ids) == 1 and tracker.tracks[ids.pop()].faces == 10


def test_overlap_without_templates_continues() -> None:
    tracker = Tracker()
    (first, _), = tracker.assign(0.0, [Detection(box(0))])
    (second, started), = tracker.assign(0.5, [Detection(box(30))])
    assert second is first and not started


def test_template_bridges_a_jump_and_a_missed_frame() -> None:
    tracker = Tracker()
    person = unit(2)
    (first, _), = tracker.assign(0.0, [Detection(box(0), person)])
    tracker.assign(0.5, [])  # detection missed
    (again, started), = tracker.assign(1.0, [Detection(box(500), near(person, 0.2, 3))])
    assert again is first and not started


def test_another_person_in_the_same_place_starts_a_new_tracklet() -> None:
    tracker = Tracker()
    (first, _), = tracker.assign(0.0, [Detection(box(0), unit(3))])
    (other, started), = tracker.assign(0.5, [Detection(box(10), unit(4))])
    assert started and other is not first


def test_two_people_keep_their_tracklets_when_they_move() -> None:
    tracker = Tracker()
    a, b = unit(5), unit(6)
    out = tracker.assign(0.0, [Detection(box(0), a), Detection(box(300), b)])
    ida, idb = out[0][0].id, out[1][0].id
    # Listed in the other order and moved: each still continues its own tracklet.
    out = tracker.assign(0.5, [Detection(box(320), near(b, 0.2, 7)), Detection(box(20), near(a, 0.2, 8))])
    assert [t.id for t, _ in out] == [idb, ida]


def test_far_away_face_without_template_starts_a_new_tracklet() -> None:
    tracker = Tracker()
    (first, _), = tracker.assign(0.0, [Detection(box(0))])
    (second, started), = tracker.assign(0.5, [Detection(box(400))])
    assert started and second is not first


def test_tracklets_expire_after_the_timeout_and_close() -> None:
    tracker = Tracker(TrackerConfig(timeout_s=1.0))
    (a, _), = tracker.assign(0.0, [Detection(box(0))])
    (b, _), = tracker.assign(0.8, [Detection(box(400))])
    assert tracker.expire(0.9) == []
    assert tracker.expire(1.0) == [a]
    assert tracker.close_all() == [b]
    assert tracker.tracks == {}
    # An expired tracklet is never continued: the same place later is a new person passing.
    (c, started), = tracker.assign(5.0, [Detection(box(0))])
    assert started and c.id != a.id


def test_templates_only_as_often_as_template_generation_time_says() -> None:
    """Sampled every 0.4 s, templates every 1.2 s: a face the boxes follow gets one every third
    frame; a face elsewhere (a new person) at once."""
    tracker = Tracker(TrackerConfig(timeout_s=2.0))
    person = unit(9)
    due = []
    for i in range(7):
        at, where = i * 0.4 + 0.003 * (i % 2), box(30.0 * i)  # a little jitter in the frame times
        wanted = tracker.template_due(at, where, 1.2)
        due.append(wanted)
        tracker.assign(at, [Detection(where, near(person, 0.2, i) if wanted else None)])
        assert tracker.template_due(at + 0.01, box(600), 1.2)  # nobody there yet: a new person
    assert due == [True, False, False, True, False, False, True]
    assert len(tracker.tracks) == 1
    # Once the tracklet expired, the same place is a new person again: a template at once.
    assert tracker.template_due(10.0, box(180), 1.2)


def test_a_fast_face_is_followed_where_its_velocity_takes_it() -> None:
    """A face crossing 90% of its width between two analysed frames (a walker close to the
    camera: benchmarks/cameras.py) barely overlaps its last box (IoU 0.05); once the template
    bridged the first step, it overlaps where its velocity takes it, continues the tracklet
    without a template and gets one only as often as templateGenerationTime says."""
    assert iou(box(0), box(90)) < Tracker().config.iou_min
    tracker = Tracker()
    person = unit(11)
    due, ids = [], set()
    for i in range(7):
        at, where = i * 0.2, box(90.0 * i)
        wanted = tracker.template_due(at, where, 0.5)
        due.append(wanted)
        ((track, _),) = tracker.assign(at, [Detection(where, near(person, 0.2, i) if wanted else None)])
        ids.add(track.id)
    assert len(ids) == 1
    assert due == [True, True, False, False, True, False, False]
    # Without a template, a face as far from where the tracklet was expected starts another.
    (other, started), = tracker.assign(1.4, [Detection(box(90.0 * 7 + 200))])
    assert started and other.id not in ids


def hit(member: str, score: int, face: int = 0, watchlist: str = "w") -> Hit[int]:
    return Hit(member, watchlist, score, face)


def test_identity_needs_the_votes_before_announcing() -> None:
    identity: Identity[int] = Identity(confirm_votes=2)
    identity.add([hit("m1", 50, 1)])
    assert identity.confirmed() is None
    identity.add([hit("m1", 70, 2)])
    confirmed = identity.confirmed()
    assert confirmed is not None and confirmed.face == 2 and confirmed.score == 70
    identity.add([hit("m1", 90, 3)])
    assert identity.confirmed() is None and identity.final() is None  # once per member
    assert identity.matched


def test_identity_at_the_end_announces_the_leader_only() -> None:
    identity: Identity[int] = Identity(confirm_votes=3)
    identity.add([hit("m1", 45, 1), hit("m2", 60, 1)])
    identity.add([hit("m1", 50, 2)])
    assert identity.confirmed() is None
    final = identity.final()
    assert final is not None and final.member_id == "m1" and final.score == 50
    assert identity.final() is None


def test_identity_at_the_end_does_not_follow_one_lucky_frame_among_several() -> None:
    # Five searched faces, one matched: not the tracklet's identity.
    identity: Identity[int] = Identity(confirm_votes=2)
    identity.add([hit("m1", 41, 1)])
    for _ in range(4):
        identity.add([])
    assert identity.confirmed() is None and identity.final() is None and not identity.matched


def test_identity_at_the_end_names_a_person_seen_once() -> None:
    # A face whose template could not be made does not count against the one that matched.
    identity: Identity[int] = Identity(confirm_votes=2)
    identity.add([hit("m1", 60, 1)])
    identity.add([], searched=False)
    final = identity.final()
    assert final is not None and final.member_id == "m1"


def test_identity_one_vote_per_face_and_member() -> None:
    identity: Identity[int] = Identity(confirm_votes=2)
    identity.add([hit("m1", 50, 1, "w1"), hit("m1", 55, 1, "w2")])  # two watchlists, one face
    assert identity.confirmed() is None
    assert len(identity.votes["m1"]) == 1 and identity.votes["m1"][0].watchlist_id == "w2"


def test_identity_without_hits_is_a_no_match() -> None:
    identity: Identity[int] = Identity()
    identity.add([])
    assert identity.final() is None and not identity.matched


def test_save_strategy() -> None:
    assert SaveStrategy.parse("FirstFace, BestFace") == SaveStrategy(first=True, best=True, every=False)
    assert SaveStrategy.parse("BestFace") == SaveStrategy(first=False, best=True, every=False)
    assert SaveStrategy.parse("") == SaveStrategy(first=False, best=True, every=False)
    assert SaveStrategy.parse("All").every
