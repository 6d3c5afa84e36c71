"""The search index of one model's templates: exact numpy below a size, hnswlib HNSW above.

- Labels are ints that never change meaning while the index lives: in exact mode the row of
  the matrix (freed rows are reused), in HNSW mode monotonically increasing (hnswlib's
  `replace_deleted` reuses the *slot* of a deleted element under a new label; reusing a label
  number would let a later replacement erase its lookup entry).
- hnswlib keeps the float32 vectors and ranks by inner products of them; what is approximate is
  only which candidates the graph visits. Candidates are grouped by member, every face of a
  candidate member is scored exactly (a member's best face wins even when the graph found a
  sibling first), and each result's score is re-computed with numpy from the stored vector.
- `M`, `ef_construction` and `ef` follow the gallery's size (tuning.py): `ef` is set after
  every change, a graph whose size outgrew its degree is rebuilt (`rebuild_*`).
- The caller holds the gallery's RWLock: `search*` under read, everything else under write
  (except `rebuild_*`, whose docstrings say what they need).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

import hnswlib
import msgspec
import numpy as np
import numpy.typing as npt

from services.matcher import tuning
from services.matcher.config import MatcherConfig
from services.matcher.labels import FaceIdView, LabelMap, LabelView
from services.matcher.tuning import BuildParams

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]
Accept = Callable[[str, float], bool]
# (member id, similarity, label of its best face)
Hit = tuple[str, float, int]

MIN_POOL = 16
MAX_POOL = 4096
# hnswlib's per-element bookkeeping beside the level-0 block: element level (4 B), one
# std::mutex (40 B), the label lookup hash entry (~32 B).
HNSW_ELEMENT_OVERHEAD = 76


class IndexMeta(msgspec.Struct, frozen=True):
    """What an index needs beside its vectors to be loaded again (cache format)."""

    dim: int
    kind: str
    next_label: int
    deleted: int
    labels: list[int]
    face_ids: list[str]
    member_ids: list[str]


class ModelIndex:
    """Templates of one model (one dimension), searchable by cosine similarity."""

    def __init__(self, dim: int, cfg: MatcherConfig, expected: int = 0) -> None:
        self.dim = dim
        self.cfg = cfg
        # The size this index is about to reach (a load from Postgres counts the faces first):
        # its graph is built for that size rather than rebuilt on the way there.
        self.expected = expected
        self._matrix: Vectors = np.zeros((0, dim), np.float32)
        self._alive: npt.NDArray[np.bool_] = np.zeros(0, np.bool_)
        self._rows = 0  # rows of the matrix in use (alive or free)
        self._free: list[int] = []
        self._hnsw: hnswlib.Index | None = None
        self._next_label = 0
        self.deleted = 0  # HNSW slots marked deleted and not yet reused
        self.labels = LabelMap()

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def face_of(self) -> FaceIdView:
        """label -> face id (read-only)."""
        return FaceIdView(self.labels)

    @property
    def label_of(self) -> LabelView:
        """face id -> label (read-only)."""
        return LabelView(self.labels)

    @property
    def kind(self) -> Literal["exact", "hnsw"]:
        return "exact" if self._hnsw is None else "hnsw"

    @property
    def built(self) -> BuildParams | None:
        """What the graph was built with (None in exact mode)."""
        if self._hnsw is None:
            return None
        return BuildParams(m=self._hnsw.M, ef_construction=self._hnsw.ef_construction)

    @property
    def ef(self) -> int | None:
        return None if self._hnsw is None else int(self._hnsw.ef)

    @property
    def nbytes(self) -> int:
        """Memory of the vectors and graph (hnswlib's layout), without the Python dicts."""
        if self._hnsw is None:
            return int(self._matrix.nbytes + self._alive.nbytes)
        m = self._hnsw.M
        level0 = self.dim * 4 + 4 + m * 2 * 4 + 8
        upper = (m * 4 + 4) / max(m, 2) * 1.1  # ~1/M elements per upper level
        return int(self._hnsw.get_max_elements() * (level0 + HNSW_ELEMENT_OVERHEAD + upper))

    def _tune(self) -> None:
        """Search breadth for the current size (write lock: hnswlib's ef is shared state)."""
        if self._hnsw is not None:
            self._hnsw.set_ef(tuning.search_ef(len(self), self.cfg))

    # ---- mutations (write lock) ----

    def add(self, face_ids: list[str], member_ids: list[str], vectors: Vectors, threads: int = 1) -> None:
        """Add (or replace) faces; `vectors` are L2-normalised float32 rows."""
        self._remove_labels(self.labels.labels_of(face_ids))
        if not face_ids:
            return
        labels = self._add_exact(vectors) if self._hnsw is None else self._add_hnsw(vectors, threads)
        self.labels.add(labels, face_ids, member_ids)
        if self._hnsw is None and len(self) > self.cfg.exact_max:
            self._to_hnsw(threads)
        self._tune()

    def remove(self, face_ids: Iterable[str]) -> None:
        """Remove faces (unknown ids are ignored: replaying a change twice is harmless)."""
        self._remove_labels(self.labels.labels_of(list(face_ids)))

    def _remove_labels(self, found: npt.NDArray[np.int64]) -> None:
        # One label per face id; a face id given twice is removed once.
        labels = list(dict.fromkeys(found[found >= 0].tolist()))
        self.labels.remove(labels)
        for label in labels:
            if self._hnsw is None:
                self._alive[label] = False
                self._free.append(label)
            else:
                self._hnsw.mark_deleted(label)
                self.deleted += 1
        self._tune()

    def _add_exact(self, vectors: Vectors) -> list[int]:
        reused = [self._free.pop() for _ in range(min(len(self._free), len(vectors)))]
        fresh = list(range(self._rows, self._rows + len(vectors) - len(reused)))
        self._rows += len(fresh)
        if self._rows > len(self._matrix):
            capacity = max(self._rows, 2 * len(self._matrix), 1024)
            grown = np.zeros((capacity, self.dim), np.float32)
            grown[: len(self._matrix)] = self._matrix
            alive = np.zeros(capacity, np.bool_)
            alive[: len(self._alive)] = self._alive
            self._matrix, self._alive = grown, alive
        labels = reused + fresh
        self._matrix[labels] = vectors
        self._alive[labels] = True
        return labels

    def _add_hnsw(self, vectors: Vectors, threads: int) -> list[int]:
        assert self._hnsw is not None
        labels = list(range(self._next_label, self._next_label + len(vectors)))
        self._next_label += len(vectors)
        needed = self._hnsw.get_current_count() + max(0, len(vectors) - self.deleted)
        if needed > self._hnsw.get_max_elements():
            self._hnsw.resize_index(max(needed, 2 * self._hnsw.get_max_elements()))
        # replace_deleted: new faces take the slots of deleted ones, so deletes do not leak.
        self._hnsw.add_items(vectors, np.asarray(labels), num_threads=threads, replace_deleted=True)
        self.deleted = max(0, self.deleted - len(vectors))
        return labels

    def target_params(self) -> BuildParams:
        """What a graph built now would use: the class of the size (or the expected one); a
        denser graph than that is kept unless the settings pin `M`."""
        want = tuning.build_params(max(len(self), self.expected), self.cfg)
        built = self.built
        if built is not None and self.cfg.hnsw_m is None and built.m > want.m:
            return BuildParams(m=built.m, ef_construction=max(built.ef_construction, want.ef_construction))
        return want

    def _new_hnsw(self, capacity: int, params: BuildParams) -> hnswlib.Index:
        index = hnswlib.Index(space="ip", dim=self.dim)
        index.init_index(
            max_elements=max(capacity, 1024),
            M=params.m,
            ef_construction=params.ef_construction,
            allow_replace_deleted=True,
        )
        index.set_ef(tuning.search_ef(capacity, self.cfg))
        return index

    def _to_hnsw(self, threads: int) -> None:
        """The gallery outgrew exact search: build the graph, drop the matrix."""
        labels = np.flatnonzero(self._alive[: self._rows])
        index = self._new_hnsw(max(2 * len(labels), int(self.expected * 1.05)), self.target_params())
        index.add_items(self._matrix[labels], labels, num_threads=threads)
        self._hnsw, self._next_label = index, self._rows
        self._matrix, self._alive, self._free = np.zeros((0, self.dim), np.float32), np.zeros(0, np.bool_), []
        log.info("index of dim %d switched to HNSW at %d templates", self.dim, len(labels))

    def needs_compaction(self) -> bool:
        return self._hnsw is not None and self.deleted > self.cfg.compact_ratio * max(len(self), 1)

    def needs_rebuild(self) -> bool:
        """Too many deleted slots, or a graph built for a smaller size class (or other pins)."""
        built = self.built
        if built is None:
            return False
        return self.needs_compaction() or tuning.needs_rebuild(built, max(len(self), self.expected), self.cfg)

    # ---- rebuilding beside live changes (gallery.py drives it) ----
    # begin (read lock) -> add chunks of vectors (each copied under the read lock, added to the
    # private new graph without any lock) -> finish (write lock): the changes applied to this
    # index meanwhile are carried over, so neither searches nor replication wait for the build.

    def rebuild_begin(self) -> tuple[ModelIndex, npt.NDArray[np.int64]]:
        """(read lock) An empty graph with the target parameters, and the live labels to copy."""
        labels = self.labels.live()
        fresh = ModelIndex(self.dim, self.cfg, self.expected)
        fresh._hnsw = self._new_hnsw(int(len(labels) * 1.25), self.target_params())
        return fresh, labels

    def rebuild_copy(self, labels: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], Vectors]:
        """(read lock) Those of `labels` still live, and copies of their vectors."""
        present = labels[self.labels.alive(labels)]
        return present, self.vectors(present) if len(present) else np.zeros((0, self.dim), np.float32)

    @staticmethod
    def rebuild_add(fresh: ModelIndex, labels: npt.NDArray[np.int64], vectors: Vectors, threads: int) -> None:
        """(no lock: `fresh` is not shared yet) Add copied vectors to the new graph."""
        assert fresh._hnsw is not None
        if len(labels):
            fresh._hnsw.add_items(vectors, labels, num_threads=threads)

    def rebuild_finish(self, fresh: ModelIndex, copied: set[int], threads: int) -> None:
        """(write lock) Make `fresh` hold what this index holds now: same labels and maps (moved,
        not copied: this index is dropped at the swap); labels added since their chunk was copied
        are added, labels removed since are marked deleted."""
        assert fresh._hnsw is not None
        fresh.labels = self.labels
        fresh._next_label = self._next_label
        live = self.labels.live()
        copied_labels = np.fromiter(copied, np.int64, len(copied))
        added = np.setdiff1d(live, copied_labels)
        if len(added):
            needed = fresh._hnsw.get_current_count() + len(added)
            if needed > fresh._hnsw.get_max_elements():
                fresh._hnsw.resize_index(max(needed, 2 * fresh._hnsw.get_max_elements()))
            fresh._hnsw.add_items(self.vectors(added), added, num_threads=threads)
        for label in np.setdiff1d(copied_labels, live).tolist():
            fresh._hnsw.mark_deleted(label)
            fresh.deleted += 1
        fresh._tune()

    # ---- search (read lock) ----

    def vectors(self, labels: npt.ArrayLike) -> Vectors:
        """The stored vectors of `labels` (exact copies)."""
        if self._hnsw is None:
            return self._matrix[np.asarray(labels, np.int64)]
        return np.asarray(self._hnsw.get_items(np.asarray(labels), return_type="numpy"), np.float32)

    def candidates(self, queries: Vectors, pool: int) -> list[tuple[npt.NDArray[np.int64], Vectors]]:
        """The `pool` most similar labels per query, best first, with similarities."""
        pool = min(pool, len(self))
        if pool == 0:
            return [(np.zeros(0, np.int64), np.zeros(0, np.float32)) for _ in queries]
        if self._hnsw is None:
            sims = queries @ self._matrix[: self._rows].T
            sims[:, ~self._alive[: self._rows]] = -np.inf
            top = np.argpartition(-sims, pool - 1, axis=1)[:, :pool]
            out = []
            for row, labels in zip(sims, top, strict=True):
                order = np.argsort(-row[labels])
                out.append((labels[order].astype(np.int64), row[labels[order]]))
            return out
        try:
            labels, dist = self._hnsw.knn_query(queries, k=pool, num_threads=1)
        except RuntimeError:
            # hnswlib could not find `pool` live elements (many deletes): ask for fewer.
            return [self._fewer(q, pool) for q in queries]
        sims = 1.0 - dist
        return [(labels[i].astype(np.int64), sims[i]) for i in range(len(labels))]

    def _fewer(self, query: Vectors, pool: int) -> tuple[npt.NDArray[np.int64], Vectors]:
        assert self._hnsw is not None
        while pool > 1:
            pool //= 2
            try:
                labels, dist = self._hnsw.knn_query(query, k=pool, num_threads=1)
                return labels[0].astype(np.int64), (1.0 - dist[0]).astype(np.float32)
            except RuntimeError:
                continue
        return np.zeros(0, np.int64), np.zeros(0, np.float32)

    def search(
        self,
        queries: Vectors,
        k: int,
        accept: Accept,
        floor: float,
        eligible: Callable[[], Iterable[str]],
    ) -> list[list[Hit]]:
        """Best `k` accepted members per query, by their best face's exact similarity.

        `accept(member, similarity)` applies the watchlist filter and thresholds; `floor` is a
        similarity below which nothing is accepted (candidates stop there); `eligible()` lists
        the members the filter can accept, for the rare search whose filter rejects every
        candidate the graph offers.
        """
        pool = max(k * self.cfg.oversample, MIN_POOL)
        first = self.candidates(queries, pool)
        return [self._search_one(q, k, accept, floor, eligible, pool, c) for q, c in zip(queries, first, strict=True)]

    def _search_one(
        self,
        query: Vectors,
        k: int,
        accept: Accept,
        floor: float,
        eligible: Callable[[], Iterable[str]],
        pool: int,
        found: tuple[npt.NDArray[np.int64], Vectors],
    ) -> list[Hit]:
        while True:
            labels, sims = found
            hits = self._pick(query, labels, sims, k, accept, floor)
            exhausted = len(labels) < pool or pool >= len(self)
            if len(hits) >= k or exhausted or len(sims) == 0 or sims[-1] < floor:
                return hits
            if pool >= MAX_POOL:
                return self._search_eligible(query, k, accept, floor, set(eligible()))
            pool *= 4
            found = self.candidates(query[None, :], pool)[0]

    def _pick(
        self, query: Vectors, labels: npt.NDArray[np.int64], sims: Vectors, k: int, accept: Accept, floor: float
    ) -> list[Hit]:
        hits: list[Hit] = []
        seen: set[int] = set()
        labels_list, sims_list = labels.tolist(), sims.tolist()
        numbers = self.labels.member_numbers(labels).tolist()
        scored: dict[int, float] | None = None
        for label, sim, number in zip(labels_list, sims_list, numbers, strict=True):
            if sim < floor or len(hits) >= k:
                break
            if number < 0 or number in seen:
                continue
            seen.add(number)
            member = self.labels.member(number)
            if self.labels.count(number) > 1:
                if scored is None:
                    scored = dict(zip(labels_list, sims_list, strict=True))
                sim, label = self._best_face(query, self.labels.siblings(number), scored)
            # The reported score is always numpy's float32 dot of the stored vectors: hnswlib's
            # `1 - distance` differs in the last digits, and replicas must answer identically.
            sim = float(self.vectors([label])[0] @ query)
            if accept(member, sim):
                hits.append((member, sim, label))
        hits.sort(key=lambda h: -h[1])
        return hits

    def _best_face(self, query: Vectors, siblings: list[int], scored: dict[int, float]) -> tuple[float, int]:
        """Every face of a member scored exactly (those among the candidates already are, by
        hnswlib or numpy; the others are fetched); its best face represents it."""
        missing = [lab for lab in siblings if lab not in scored]
        if missing:
            for lab, sim in zip(missing, (self.vectors(missing) @ query).tolist(), strict=True):
                scored[lab] = sim
        best = max(siblings, key=scored.__getitem__)
        return scored[best], best

    def _search_eligible(self, query: Vectors, k: int, accept: Accept, floor: float, members: set[str]) -> list[Hit]:
        numbers = [n for n in map(self.labels.number_of, members) if n is not None]
        labels = np.asarray([lab for n in numbers for lab in self.labels.siblings(n)], np.int64)
        if len(labels) == 0:
            return []
        if self._hnsw is not None and len(labels) > self.cfg.exact_max:
            # Too many to copy out: let the graph search only those labels (hnswlib's filter
            # calls back into Python per visited node, slow but bounded by the graph search).
            allowed = set(labels.tolist())
            try:
                lab, dist = self._hnsw.knn_query(
                    query, k=min(k * self.cfg.oversample, len(allowed)), num_threads=1, filter=allowed.__contains__
                )
            except RuntimeError:  # fewer reachable than asked: the graph gave what it could
                return []
            return self._pick(query, lab[0].astype(np.int64), (1.0 - dist[0]).astype(np.float32), k, accept, floor)
        sims = self.vectors(labels) @ query
        order = np.argsort(-sims)
        return self._pick(query, labels[order], sims[order], k, accept, floor)

    # ---- persistence (read lock) ----

    def save(self, folder: Path) -> None:
        """Write the index to `folder` (meta.msgpack and vectors.bin)."""
        folder.mkdir(parents=True, exist_ok=True)
        labels = self.labels.live()
        meta = IndexMeta(
            dim=self.dim,
            kind=self.kind,
            next_label=self._next_label if self._hnsw is not None else self._rows,
            deleted=self.deleted,
            labels=labels.tolist(),
            face_ids=self.labels.face_ids(labels),
            member_ids=self.labels.member_ids(labels),
        )
        (folder / "meta.msgpack").write_bytes(msgspec.msgpack.encode(meta))
        if self._hnsw is None:
            (folder / "vectors.bin").write_bytes(self._matrix[: self._rows].tobytes())
        else:
            self._hnsw.save_index(str(folder / "vectors.bin"))

    @classmethod
    def load(cls, folder: Path, cfg: MatcherConfig) -> ModelIndex:
        """Read an index written by `save`; raises ValueError when the files disagree."""
        meta = msgspec.msgpack.decode((folder / "meta.msgpack").read_bytes(), type=IndexMeta)
        index = cls(meta.dim, cfg)
        if meta.kind == "exact":
            matrix = np.fromfile(folder / "vectors.bin", np.float32)
            if matrix.size != meta.next_label * meta.dim:
                raise ValueError("exact index size does not match its metadata")
            index._matrix = matrix.reshape(meta.next_label, meta.dim)
            index._rows = meta.next_label
            index._alive = np.zeros(meta.next_label, np.bool_)
            index._alive[meta.labels] = True
            index._free = np.flatnonzero(~index._alive).tolist()
        else:
            hnsw = hnswlib.Index(space="ip", dim=meta.dim)
            hnsw.load_index(str(folder / "vectors.bin"), allow_replace_deleted=True)
            if hnsw.get_current_count() < len(meta.labels):
                raise ValueError("HNSW index holds fewer elements than its metadata")
            index._hnsw = hnsw
            index._next_label = meta.next_label
            index.deleted = meta.deleted
        if not len(meta.labels) == len(meta.face_ids) == len(meta.member_ids):
            raise ValueError("index metadata lists differ in length")
        index.labels.add(meta.labels, meta.face_ids, meta.member_ids)
        index._tune()
        return index
