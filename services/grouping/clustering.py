"""Tracklets -> individuals: average-linkage agglomerative clustering (UPGMA) over a sparse graph.

Average linkage needs no matrix of all pairs: with L2-normalised templates, the mean cosine
similarity between the members of clusters A and B is `sum(A) . sum(B) / (|A| |B|)`, so each
cluster is its sum and its size. Clusters merge best pair first while that mean reaches the
threshold. A pair of clusters whose mean reaches it has at least one pair of members that does,
so the pairs of tracklets at or above the threshold are the only candidates: each tracklet
keeps its `neighbours` nearest among them.
- Up to `exact_max` tracklets, every pair is compared (blocks of rows, never the n x n matrix at
  once): with enough neighbours this is exact UPGMA.
- Beyond, an HNSW graph (hnswlib) finds the nearest neighbours: about n log n, and the merges
  stay as above. (An inverted file of k-means cells, FAISS's IVF-Flat, was measured too: as fast
  at 3-6 probes but it missed 5-17% of the pairs on synthetic templates, HNSW 0.3%.)

Average linkage rather than single linkage (connected components) or Chinese whispers: one
photo-like outlier (blur, profile) bridging two people does not chain them together, and the
threshold keeps its meaning (SmartFace's score of the two sides' average), which lets a run stop
at the grouping's `threshold`. benchmarks/grouping.py measures the choice.

Constraints, which make a run incremental and keep what a user decided:
- `groups`: tracklets with the same label (>= 0) start as one cluster and never part (an
  existing individual, or individuals merged by hand);
- `splits`: per tracklet, {split id: side}; two tracklets on opposite sides of one split never
  end in one cluster (an individual split by hand).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

import hnswlib
import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]

NEIGHBOURS = 16
EXACT_MAX = 10_000
BLOCK_CELLS = 1 << 22  # similarities computed at once in the exact search (16 MB of float32)
# A sparser, cheaper graph than the matcher's (M 16, ef_construction 200): only near neighbours
# matter here, and they are the easy ones. On 20k synthetic templates (benchmarks/grouping.py)
# it finds 99.7% of the exact search's pairs in 1.5x less time than comparing all.
HNSW_M = 12
HNSW_EF_CONSTRUCTION = 40
HNSW_EF = 64


def _exact_pairs(x: Matrix, min_similarity: float, k: int) -> tuple[Labels, Labels]:
    """Each row's `k` most similar other rows at or above `min_similarity`, comparing all (a
    block of rows at a time)."""
    n = len(x)
    rows: list[Labels] = []
    cols: list[Labels] = []
    sims: list[npt.NDArray[np.float32]] = []
    step = max(1, BLOCK_CELLS // max(n, 1))
    for start in range(0, n, step):
        block = x[start : start + step] @ x.T
        b = len(block)
        block[np.arange(b), np.arange(start, start + b)] = -np.inf  # not its own neighbour
        # Most pairs are strangers, far below the threshold: only the few above it are kept.
        r, c = np.nonzero(block >= min_similarity)
        rows.append(r + start)
        cols.append(c)
        sims.append(block[r, c])
    return _top_per_row(np.concatenate(rows), np.concatenate(cols), np.concatenate(sims), k)


def _top_per_row(r: Labels, c: Labels, sims: npt.NDArray[np.float32], k: int) -> tuple[Labels, Labels]:
    """Of pairs (r, c) with similarities, at most `k` per row r: the most similar, no repeats."""
    order = np.lexsort((c, -sims, r))
    r, c, sims = r[order], c[order], sims[order]
    fresh = np.ones(len(r), bool)
    fresh[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1]) | (sims[1:] != sims[:-1])
    r, c = r[fresh], c[fresh]
    rank = np.arange(len(r)) - np.searchsorted(r, r, side="left")
    keep = rank < k
    return r[keep], c[keep]


def _hnsw_pairs(x: Matrix, min_similarity: float, k: int, threads: int) -> tuple[Labels, Labels]:
    """Each row's (about) `k` most similar other rows at or above `min_similarity`, by HNSW."""
    n, dim = x.shape
    index = hnswlib.Index(space="ip", dim=dim)
    index.init_index(max_elements=n, M=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
    index.add_items(x, np.arange(n), num_threads=threads)
    index.set_ef(max(HNSW_EF, k + 1))
    found, distances = index.knn_query(x, k=min(k + 1, n), num_threads=threads)
    sims = 1.0 - distances  # hnswlib's "ip" distance is 1 - dot
    rows = np.repeat(np.arange(n), found.shape[1]).reshape(found.shape)
    mask = (sims >= min_similarity) & (found != rows)
    return rows[mask].astype(np.int64), found[mask].astype(np.int64)


def candidate_pairs(
    x: Matrix, min_similarity: float, k: int = NEIGHBOURS, exact_max: int = EXACT_MAX, threads: int = 1
) -> tuple[Labels, Labels]:
    """Pairs of rows (i, j) worth comparing as clusters: each row's nearest at or above the
    threshold, exactly up to `exact_max` rows, by an HNSW graph beyond."""
    if len(x) < 2:
        empty = np.zeros(0, np.int64)
        return empty, empty
    if len(x) <= exact_max:
        return _exact_pairs(x, min_similarity, k)
    return _hnsw_pairs(x, min_similarity, k, threads)


class _Clusters:
    """Sums, sizes, neighbours and split sides of the live clusters; merges keep the lower id."""

    def __init__(self, x: Matrix, start: Labels, sides: list[dict[str, bool]]) -> None:
        count = int(start.max()) + 1 if len(start) else 0
        self.sums = np.zeros((count, x.shape[1]), np.float64)
        np.add.at(self.sums, start, x.astype(np.float64))
        self.sizes = np.bincount(start, minlength=count).astype(np.float64)
        self.alive = np.ones(count, bool)
        self.version = np.zeros(count, np.int64)
        self.neighbours: list[set[int]] = [set() for _ in range(count)]
        self.sides = sides
        self.parent = np.arange(count)

    def similarity(self, a: int, others: Sequence[int]) -> npt.NDArray[np.float64]:
        """Average linkage between cluster `a` and each of `others`."""
        idx = np.fromiter(others, np.int64, len(others))
        result: npt.NDArray[np.float64] = (self.sums[idx] @ self.sums[a]) / (self.sizes[idx] * self.sizes[a])
        return result

    def compatible(self, a: int, b: int) -> bool:
        """False when a split puts members of `a` and `b` on opposite sides."""
        small, large = sorted((self.sides[a], self.sides[b]), key=len)
        return all(large.get(split, side) == side for split, side in small.items())

    def merge(self, a: int, b: int) -> int:
        keep, gone = min(a, b), max(a, b)
        self.sums[keep] += self.sums[gone]
        self.sizes[keep] += self.sizes[gone]
        self.alive[gone] = False
        self.parent[gone] = keep
        self.version[keep] += 1
        self.sides[keep] = {**self.sides[gone], **self.sides[keep]}
        merged = (self.neighbours[keep] | self.neighbours[gone]) - {keep, gone}
        for other in self.neighbours[gone]:
            self.neighbours[other].discard(gone)
            if other != keep:
                self.neighbours[other].add(keep)
        self.neighbours[keep], self.neighbours[gone] = merged, set()
        return keep

    def root(self, c: int) -> int:
        while self.parent[c] != c:
            self.parent[c] = self.parent[self.parent[c]]
            c = int(self.parent[c])
        return c


def _start_clusters(n: int, groups: Sequence[int] | npt.NDArray[np.int64] | None) -> Labels:
    """Each tracklet's first cluster: one per group label >= 0, one per ungrouped tracklet."""
    if groups is None:
        return np.arange(n, dtype=np.int64)
    g = np.asarray(groups, np.int64)
    out = np.empty(n, np.int64)
    grouped = g >= 0
    _, out[grouped] = np.unique(g[grouped], return_inverse=True)
    first_free = int(out[grouped].max()) + 1 if grouped.any() else 0
    out[~grouped] = first_free + np.arange(int((~grouped).sum()))
    return out


def cluster(
    templates: Matrix,
    min_similarity: float,
    groups: Sequence[int] | npt.NDArray[np.int64] | None = None,
    splits: Mapping[int, Mapping[str, bool]] | None = None,
    *,
    neighbours: int = NEIGHBOURS,
    exact_max: int = EXACT_MAX,
    threads: int = 1,
) -> Labels:
    """A cluster label (0..k-1, in order of first appearance) per row of `templates` (L2-normalised
    float32): average linkage, merging while the clusters' mean similarity is at least
    `min_similarity`, within the constraints `groups` and `splits` (module docstring)."""
    n = len(templates)
    if n == 0:
        return np.zeros(0, np.int64)
    x = np.ascontiguousarray(templates, np.float32)
    start = _start_clusters(n, groups)
    count = int(start.max()) + 1
    sides: list[dict[str, bool]] = [{} for _ in range(count)]
    for row, labelled in (splits or {}).items():
        sides[start[row]].update(labelled)
    clusters = _Clusters(x, start, sides)
    rows, cols = candidate_pairs(x, min_similarity, neighbours, exact_max, threads)
    a, b = start[rows], start[cols]
    for i, j in zip(a[a != b].tolist(), b[a != b].tolist(), strict=True):
        clusters.neighbours[i].add(j)
        clusters.neighbours[j].add(i)
    heap: list[tuple[float, int, int, int, int]] = []

    def push(c: int, others: Sequence[int]) -> None:
        if not others:
            return
        for other, sim in zip(others, clusters.similarity(c, others).tolist(), strict=True):
            if sim >= min_similarity:
                lo, hi = min(c, other), max(c, other)
                heapq.heappush(heap, (-sim, lo, hi, int(clusters.version[lo]), int(clusters.version[hi])))

    for c in range(count):
        push(c, [o for o in clusters.neighbours[c] if o > c])
    while heap:
        _, lo, hi, v_lo, v_hi = heapq.heappop(heap)
        if not (clusters.alive[lo] and clusters.alive[hi]):
            continue
        if clusters.version[lo] != v_lo or clusters.version[hi] != v_hi:
            continue  # either changed since: its fresh pairs are in the heap
        if not clusters.compatible(lo, hi):
            clusters.neighbours[lo].discard(hi)
            clusters.neighbours[hi].discard(lo)
            continue
        keep = clusters.merge(lo, hi)
        push(keep, list(clusters.neighbours[keep]))
    roots = np.fromiter((clusters.root(c) for c in range(count)), np.int64, count)[start]
    _, first = np.unique(roots, return_index=True)
    order = np.argsort(first)
    relabel = np.empty(len(order), np.int64)
    relabel[order] = np.arange(len(order))
    _, inverse = np.unique(roots, return_inverse=True)
    return relabel[inverse]
