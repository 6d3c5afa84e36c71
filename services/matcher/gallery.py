"""What one matcher replica holds in memory: an index per model, watchlist membership and
thresholds, and the change-log position (`seq`) all of it reflects.

Changes arrive as `ChangeSet`s (current state of what the log rows name, read from Postgres)
and are applied under the write lock; searches run under the read lock in the worker threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from services.matcher.config import MatcherConfig
from services.matcher.index import ModelIndex, Vectors
from services.matcher.locks import RWLock
from shared.errors import NotFound, ValidationFailed
from shared.messages.gallery import DEFAULT_THRESHOLD
from shared.messages.matcher import ModelIndexStats
from shared.scores import passes, score_from_similarity, similarity_floor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaceRow:
    face_id: str
    member_id: str
    model_name: str
    template: bytes


@dataclass
class ChangeSet:
    """The state, as of log position `upto`, of everything the log rows after `after` name."""

    after: int
    upto: int
    reset: bool = False
    faces: list[FaceRow] = field(default_factory=list)
    removed_faces: list[str] = field(default_factory=list)
    # member -> its watchlists now (empty: in none, or deleted)
    members: dict[str, list[str]] = field(default_factory=dict)
    # watchlist -> threshold now (None: deleted)
    watchlists: dict[str, int | None] = field(default_factory=dict)
    # model -> templates the load is about to bring (a load from Postgres says so first, so that
    # each graph is built for its final size rather than rebuilt on the way; tuning.py)
    sizes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class IndexMatch:
    """One member the index found for a probe: its best face and the searched watchlists it
    passed in (sorted by id); answers.py adds what the caller shows of them."""

    member_id: str
    face_id: str
    watchlist_ids: list[str]
    similarity: float
    score: int


def as_vectors(templates: Iterable[bytes], dim: int | None = None) -> Vectors:
    """float32 LE bytes -> L2-normalised rows. The extractor normalises already; doing it again
    here is cheap and keeps cosine = inner product even for templates from elsewhere."""
    blobs = list(templates)
    if not blobs:
        return np.zeros((0, dim or 0), np.float32)
    lengths = {len(b) for b in blobs}
    if len(lengths) != 1 or (dim is not None and lengths != {4 * dim}) or 0 in lengths or min(lengths) % 4:
        want = f"{dim} floats" if dim is not None else "one length"
        got = sorted(n / 4 for n in lengths)
        raise ValidationFailed(f"Templates must be float32 vectors of {want}; got lengths {got}.")
    matrix = np.frombuffer(b"".join(blobs), "<f4").reshape(len(blobs), -1).astype(np.float32)
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))[:, None]
    if not np.all(np.isfinite(matrix)) or np.any(norms == 0):
        raise ValidationFailed("Templates must be finite and not all zero.")
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


class Gallery:
    """Indexes, membership and thresholds of one replica."""

    def __init__(self, cfg: MatcherConfig, threads: int = 1) -> None:
        self.cfg = cfg
        self.threads = threads
        self.lock = RWLock()
        self.models: dict[str, ModelIndex] = {}
        self.watchlists_of: dict[str, frozenset[str]] = {}
        self.members_in: dict[str, set[str]] = {}
        self.thresholds: dict[str, int] = {}
        self.seq = 0
        self.expected: dict[str, int] = {}
        self.rebuilds = 0

    # ---- changes (each call takes the write lock) ----

    def apply(self, changes: ChangeSet) -> None:
        """Bring the gallery to `changes.upto`; replaying a change twice is harmless."""
        with self.lock.write():
            for model, size in changes.sizes.items():
                self.expected[model] = size
                if model in self.models:
                    self.models[model].expected = size
            self._drop_faces(changes.removed_faces)
            by_model: dict[str, list[FaceRow]] = {}
            for row in changes.faces:
                by_model.setdefault(row.model_name, []).append(row)
            for model, rows in by_model.items():  # a face moved to another model leaves the old one
                self._drop_faces([r.face_id for r in rows], keep_model=model)
            for model, rows in by_model.items():
                self._add(model, rows)
            for member, wls in changes.members.items():
                self._set_membership(member, wls)
            for wl, threshold in changes.watchlists.items():
                if threshold is None:
                    self.thresholds.pop(wl, None)
                else:
                    self.thresholds[wl] = threshold
            self.seq = max(self.seq, changes.upto)

    def _drop_faces(self, face_ids: list[str], keep_model: str | None = None) -> None:
        if not face_ids:
            return
        for name, index in self.models.items():
            if name != keep_model:
                index.remove(face_ids)

    def _add(self, model: str, rows: list[FaceRow]) -> None:
        index = self.models.get(model)
        try:
            vectors = as_vectors((r.template for r in rows), index.dim if index else None)
        except ValidationFailed as exc:
            # Written before validation existed or by hand: skip, never stop replication.
            log.warning("skipping %d faces of model %s: %s", len(rows), model, exc.detail)
            return
        if index is None:
            index = self.models[model] = ModelIndex(vectors.shape[1], self.cfg, self.expected.get(model, 0))
        index.add([r.face_id for r in rows], [r.member_id for r in rows], vectors, self.threads)

    def _set_membership(self, member: str, watchlists: list[str]) -> None:
        for wl in self.watchlists_of.pop(member, frozenset()):
            self.members_in.get(wl, set()).discard(member)
        if watchlists:
            self.watchlists_of[member] = frozenset(watchlists)
            for wl in watchlists:
                self.members_in.setdefault(wl, set()).add(member)

    def due_for_rebuild(self) -> list[str]:
        """Models whose graph should be rebuilt (deleted slots, or grown into a larger size class).
        Only the replica's single writer calls it, so the indexes do not change meanwhile."""
        return [name for name, index in self.models.items() if index.needs_rebuild()]

    def rebuild(self, name: str, chunk: int = 10_000, cancel: threading.Event | None = None) -> bool:
        """Rebuild one model's graph with the parameters for its size and without deleted slots,
        while searches and changes go on: vectors are copied a chunk at a time under the read
        lock, the new graph is built outside any lock, and the changes applied meanwhile are
        carried over under the write lock before the swap (the set difference of the labels).
        Memory holds both graphs until the swap. False when nothing was swapped
        (not due any more, the index was replaced meanwhile, or `cancel` was set: it is looked
        at between chunks, a few seconds apart at 1M)."""
        with self.lock.read():
            index = self.models.get(name)
            if index is None or not index.needs_rebuild():
                return False
            old = (index.built, len(index), index.deleted)
            fresh, labels = index.rebuild_begin()
        copied: set[int] = set()
        for start in range(0, len(labels), chunk):
            if cancel is not None and cancel.is_set():
                return False
            with self.lock.read():
                if self.models.get(name) is not index:
                    return False
                present, vectors = index.rebuild_copy(labels[start : start + chunk])
            ModelIndex.rebuild_add(fresh, present, vectors, self.threads)
            copied.update(present.tolist())
        with self.lock.write():
            if self.models.get(name) is not index:
                return False
            index.rebuild_finish(fresh, copied, self.threads)
            self.models[name] = fresh
            self.rebuilds += 1
        log.info(
            "rebuilt index %s: %s, %d templates, %d deleted slots -> %s, %d templates, ef %s",
            name, *old, fresh.built, len(fresh), fresh.ef,
        )  # fmt: skip
        return True

    def maintain(self) -> list[str]:
        """Every due rebuild, one after the other (tests and benchmarks; the replica runs
        `rebuild` in the background)."""
        return [name for name in self.due_for_rebuild() if self.rebuild(name)]

    # ---- search (read lock) ----

    def search(
        self, templates: list[bytes], model: str, watchlist_ids: list[str], threshold: int | None, k: int
    ) -> list[list[IndexMatch]]:
        """Best `k` members per template that pass the thresholds of the chosen watchlists."""
        with self.lock.read():
            unknown = [w for w in watchlist_ids if w not in self.thresholds]
            if unknown:
                raise NotFound(f"Watchlists do not exist: {', '.join(sorted(set(unknown)))}.")
            index = self.models.get(model)
            queries = as_vectors(templates, index.dim if index else None)
            if index is None or len(index) == 0:
                return [[] for _ in templates]
            wanted = frozenset(watchlist_ids) if watchlist_ids else None

            def threshold_of(wl: str) -> int:
                return threshold if threshold is not None else self.thresholds.get(wl, DEFAULT_THRESHOLD)

            passed: dict[tuple[str, float], list[str]] = {}  # the watchlists each hit passed in

            def accept(member: str, sim: float) -> bool:
                wls = self.watchlists_of.get(member, frozenset())
                in_scope = wls if wanted is None else wls & wanted
                passed[member, sim] = found = sorted(w for w in in_scope if passes(sim, threshold_of(w)))
                return bool(found)

            def eligible() -> Iterable[str]:
                if wanted is None:
                    return self.watchlists_of.keys()
                return {m for w in wanted for m in self.members_in.get(w, ())}

            if threshold is not None:
                floor = similarity_floor(threshold) if self.thresholds else np.inf
            else:
                scope = self.thresholds.values() if wanted is None else [self.thresholds[w] for w in wanted]
                floor = similarity_floor(min(scope, default=101))
            hits = index.search(queries, k, accept, floor, eligible)
            return [
                [
                    IndexMatch(
                        member_id=member,
                        face_id=face_id,
                        watchlist_ids=passed[member, sim],
                        similarity=round(sim, 6),
                        score=score_from_similarity(sim),
                    )
                    # One call decodes a query's face ids (GUIDs stored as 16 bytes: labels.py).
                    for (member, sim, _), face_id in zip(
                        per_query, index.labels.face_ids(label for _, _, label in per_query), strict=True
                    )
                ]
                for per_query in hits
            ]

    # ---- figures ----

    def model_stats(self) -> list[ModelIndexStats]:
        return [
            ModelIndexStats(
                model_name=name,
                dim=index.dim,
                templates=len(index),
                deleted_slots=index.deleted,
                kind=index.kind,
                index_bytes=index.nbytes,
            )
            for name, index in sorted(self.models.items())
        ]
