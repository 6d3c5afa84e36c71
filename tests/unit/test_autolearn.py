"""Auto-learn's choice (services/cleanup/autolearn.py): which camera faces a member learns and which
learnt faces they replace, by the AutoLearn values; enrolled faces never enter it."""

from __future__ import annotations

import msgspec

from services.cleanup.autolearn import Candidate, Learnt, cluster_of, eligible, plan
from shared.messages.setup import WatchlistAutoLearnConfig

CONFIG = WatchlistAutoLearnConfig(
    enabled=True, execution_start_time="01:00:00", max_auto_learn_faces_count=3, selection_threshold=60,
    masked_selection_threshold=50, no_face_mask_confidence_threshold=-2000, face_mask_confidence_threshold=2000,
)  # fmt: skip


def seen(face_id: str, quality: int, score: int = 80, mask: float | None = None) -> Candidate:
    return Candidate("m", face_id, score, quality, mask)


def test_clusters_and_their_thresholds() -> None:
    assert cluster_of(None, CONFIG) == "NoMask"  # no mask model: unknown counts as no mask
    assert cluster_of(-2000, CONFIG) == "NoMask" and cluster_of(2000, CONFIG) == "Mask"
    assert cluster_of(0, CONFIG) is None  # undecided: learnt into neither
    assert eligible(seen("a", 5000, score=60), CONFIG) == "NoMask"  # at the threshold: taken
    assert eligible(seen("a", 5000, score=59), CONFIG) is None
    assert eligible(seen("a", 5000, score=55, mask=5000), CONFIG) == "Mask"  # masked: its own threshold
    assert eligible(seen("a", 5000, score=49, mask=5000), CONFIG) is None
    assert eligible(seen("a", 5000, score=99, mask=100), CONFIG) is None


def test_room_is_filled_with_the_best_candidates_up_to_the_cap() -> None:
    chosen = plan([], [seen("a", 4000), seen("b", 7000), seen("c", 5000), seen("d", 6000), seen("e", 9000, 10)], CONFIG)
    assert [(c.face_id, cluster) for c, cluster in chosen.add] == [("b", "NoMask"), ("d", "NoMask"), ("c", "NoMask")]
    assert chosen.remove == []


def test_a_better_face_replaces_the_weakest_learnt_one_and_a_worse_one_nothing() -> None:
    learnt = [Learnt("x", 6000, "NoMask"), Learnt("y", 3000, "NoMask"), Learnt("z", 5000, "Mask")]
    chosen = plan(learnt, [seen("better", 5500), seen("worse", 2000)], CONFIG)
    assert [c.face_id for c, _ in chosen.add] == ["better"]
    assert [f.face_id for f in chosen.remove] == ["y"]
    tie = plan(learnt, [seen("same", 3000)], CONFIG)  # a tie keeps the face the member has
    assert tie.add == [] and tie.remove == []


def test_faces_already_learnt_are_not_learnt_twice_and_a_lower_cap_drops_the_weakest_first() -> None:
    learnt = [Learnt("x", 6000, "NoMask"), Learnt("y", 3000, "NoMask")]
    assert plan(learnt, [seen("x", 9000)], CONFIG).add == []
    smaller = msgspec.structs.replace(CONFIG, max_auto_learn_faces_count=1)
    chosen = plan([*learnt, Learnt("w", 1000, "NoMask")], [seen("n", 7000)], smaller)
    assert [c.face_id for c, _ in chosen.add] == ["n"]
    assert [f.face_id for f in chosen.remove] == ["w", "y", "x"]  # the weakest first
