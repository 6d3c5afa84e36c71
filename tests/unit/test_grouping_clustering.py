"""The grouping's clustering: exact average linkage (UPGMA) on small sets, the constraints that
make runs incremental and keep manual decisions, the scale paths (inverted file, HNSW), and how a
run turns clusters into individuals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import combinations

import numpy as np
import numpy.typing as npt
import pytest

from services.grouping.clustering import candidate_pairs, cluster
from services.grouping.handlers import best_matches
from services.grouping.runs import plan
from services.grouping.tracklets import RunInput
from services.matcher.synthetic import gallery
from shared.scores import similarity_floor

Matrix = npt.NDArray[np.float32]


def naive_upgma(x: Matrix, min_similarity: float) -> list[set[int]]:
    """Textbook average linkage: merge the pair of clusters with the highest mean pairwise
    similarity while it reaches the threshold (O(n^3), for checking)."""
    sims = x.astype(np.float64) @ x.T.astype(np.float64)
    clusters = [{i} for i in range(len(x))]
    while len(clusters) > 1:
        best, pair = -np.inf, (0, 0)
        for a, b in combinations(range(len(clusters)), 2):
            mean = np.mean([sims[i, j] for i in clusters[a] for j in clusters[b]])
            if mean > best:
                best, pair = mean, (a, b)
        if best < min_similarity:
            break
        a, b = pair
        clusters[a] |= clusters.pop(b)
    return clusters


def as_sets(labels: npt.NDArray[np.int64]) -> list[set[int]]:
    out: dict[int, set[int]] = {}
    for row, label in enumerate(labels.tolist()):
        out.setdefault(label, set()).add(row)
    return list(out.values())


def canonical(clusters: list[set[int]]) -> list[list[int]]:
    return sorted(sorted(c) for c in clusters)


@pytest.mark.parametrize("seed", range(4))
def test_small_sets_are_exact_average_linkage(seed: int) -> None:
    x, _, _ = gallery(60, 32, seed=seed, per_identity=(1, 5))
    threshold = 0.45
    assert canonical(as_sets(cluster(x, threshold, neighbours=64))) == canonical(naive_upgma(x, threshold))


def test_average_linkage_does_not_chain_through_a_bridge() -> None:
    """a - bridge - b: the bridge is close enough to each, but a and b are strangers; single
    linkage (connected components) would make one person of all three."""
    a = np.array([1.0, 0.0, 0.0], np.float32)
    b = np.array([0.0, 1.0, 0.0], np.float32)
    bridge = (a + b) / np.linalg.norm(a + b)
    x = np.stack([a, a, bridge, b, b]).astype(np.float32)
    labels = cluster(x, 0.7)
    assert labels[0] == labels[1] and labels[3] == labels[4] and labels[0] != labels[3]
    rows, cols = candidate_pairs(x, 0.7)
    assert {(2, 0), (2, 3)} <= set(zip(rows.tolist(), cols.tolist(), strict=True))


def test_groups_stay_together_and_splits_stay_apart() -> None:
    rng = np.random.default_rng(0)
    person = rng.standard_normal(16)
    x = np.stack([person + 0.05 * rng.standard_normal(16) for _ in range(6)])
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    assert len(set(cluster(x, 0.9).tolist())) == 1
    # Rows 0-1 were split from rows 2-3 by hand: however alike, they never meet again; rows 4
    # and 5 may join either side.
    splits = {0: {"s": True}, 1: {"s": True}, 2: {"s": False}, 3: {"s": False}}
    labels = cluster(x, 0.9, splits=splits).tolist()
    assert labels[0] == labels[1] and labels[2] == labels[3] and labels[0] != labels[2]
    assert {labels[4], labels[5]} <= {labels[0], labels[2]}
    # A stranger grouped with the person by hand (an individual merged by hand) stays with them.
    stranger = rng.standard_normal(16).astype(np.float32)
    y = np.vstack([x, stranger / np.linalg.norm(stranger)]).astype(np.float32)
    labels = cluster(y, 0.9, groups=[0, -1, -1, -1, -1, -1, 0]).tolist()
    assert labels[6] == labels[0]


def test_the_scale_path_finds_what_the_exact_search_finds() -> None:
    x, owner, _ = gallery(3000, 64, seed=3, per_identity=(2, 5))
    exact = cluster(x, 0.5)
    approximate = cluster(x, 0.5, exact_max=0)
    agree = np.mean([len(set(approximate[exact == e].tolist())) == 1 for e in np.unique(exact)])
    assert agree > 0.97, agree
    assert len(np.unique(approximate)) <= 1.1 * len(np.unique(owner))


def test_real_threshold_floor_is_sharper_than_synthetic_strangers() -> None:
    """The default threshold (40) lies between the model's different people (cosine <= 0.92) and
    one person (>= 0.94): shared/scores.py."""
    assert 0.92 < similarity_floor(40) < 0.93


def test_a_run_keeps_the_oldest_individual_of_a_cluster_and_names_new_ones() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    data = RunInput(
        tracklet_ids=["t1", "t2", "t3", "n1", "n2", "n3"],
        individual_ids=["old", "old", "young", None, None, None],
        templates=b"", dim=4, splits={},
        created={"old": t0, "young": t0 + timedelta(hours=1)},
    )  # fmt: skip
    # t1-t3 and n1 end in one cluster (old absorbs young), n2-n3 in a new one.
    outcome, pairs, absorbs = plan(data, [0, 0, 0, 0, 1, 1])
    assert absorbs == {"old": ["young"]} and outcome.deleted == ["young"]
    assert outcome.updated == {"old": ["n1"]}
    (new_id,) = outcome.created
    assert outcome.created[new_id] == ["n2", "n3"]
    assert sorted(pairs) == sorted([("n1", "old"), ("n2", new_id), ("n3", new_id)])
    assert outcome.grouped == 3


def test_search_ranks_individuals_by_average_similarity() -> None:
    def unit(*v: float) -> bytes:
        a = np.asarray(v, np.float32)
        return (a / np.linalg.norm(a)).astype("<f4").tobytes()

    rows = [("a", unit(1, 0, 0)), ("a", unit(1, 0.05, 0)), ("b", unit(1, 0.2, 0)), ("c", unit(0, 1, 0))]
    assert best_matches(rows, [unit(1, 0.01, 0)], 40) == ["a", "b"]
    assert best_matches(rows, [unit(1, 0.01, 0)], 99) == ["a"]
    assert best_matches(rows, [unit(0, 0, 1)], 40) == []
    assert best_matches([], [unit(1, 0, 0)], 40) == []
