"""The exact search behind Faces/Search: every stored camera face is compared with the probe, a
batch of templates at a time (one matrix-vector product each), and the best hits are kept.

Why exact and not an HNSW index of camera faces: a search session is a background job over
everything stored, asked for now and then, while an index would have to live in every matcher
replica (0.5 GB at 1M faces of the shipped model's 128 floats, 2 GB at 512), follow every face
camera_ingest stores and every face the retention deletes, and would still miss some hits. Streaming the templates from
Postgres in keyset batches holds one batch in memory, needs no state, and finds every hit;
its time grows with the number of stored faces (benchmarks/face_search.py gives the figure).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from shared.errors import ValidationFailed
from shared.scores import score_from_similarity, similarity_floor


def probe_vector(template: bytes) -> np.ndarray:
    """The probe as a unit float32 vector; a 400 for bytes that are not float32 values."""
    if not template or len(template) % 4:
        raise ValidationFailed("template must be float32 values.", errors={"template": ["not float32 bytes"]})
    vector = np.frombuffer(template, "<f4").astype(np.float32)
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0.0:
        raise ValidationFailed("template must be a non-zero vector.", errors={"template": ["zero or not finite"]})
    return vector / norm


@dataclass
class Hits:
    """The best `limit` hits seen so far (similarity at or above `floor`), each with its row's
    payload (whatever the caller stores with a hit)."""

    limit: int
    floor: float
    similarities: list[np.ndarray] = field(default_factory=list)
    payloads: list[object] = field(default_factory=list)
    _kept: int = 0

    @classmethod
    def for_threshold(cls, threshold: int, limit: int) -> Hits:
        return cls(limit=limit, floor=similarity_floor(threshold))

    def add_batch(self, probe: np.ndarray, templates: np.ndarray, payloads: Sequence[object]) -> None:
        """Compare one batch (rows of `templates`, L2-normalised as stored) and keep its hits."""
        if len(payloads) == 0:
            return
        sims = templates @ probe
        found = np.flatnonzero(sims >= self.floor)
        if found.size == 0:
            return
        self.similarities.append(sims[found].astype(np.float32))
        self.payloads.extend(payloads[int(i)] for i in found)
        self._kept += int(found.size)
        if self._kept > 2 * self.limit:
            self._trim()

    def _trim(self) -> None:
        sims = np.concatenate(self.similarities) if self.similarities else np.empty(0, np.float32)
        if sims.size > self.limit:
            keep = np.argpartition(-sims, self.limit - 1)[: self.limit]
            sims = sims[keep]
            self.payloads = [self.payloads[int(i)] for i in keep]
        self.similarities, self._kept = [sims], int(sims.size)

    def best(self, threshold: int) -> list[tuple[float, int, object]]:
        """(similarity, score, payload) of the hits whose score reaches `threshold`, best first."""
        self._trim()
        sims = self.similarities[0]
        order = np.argsort(-sims, kind="stable")
        out = []
        for i in order:
            similarity = float(sims[i])
            score = score_from_similarity(similarity)
            if score < threshold:
                break  # best first: every later one scores less
            out.append((similarity, score, self.payloads[int(i)]))
        return out


def as_matrix(templates: list[bytes], dimension: int) -> tuple[np.ndarray, list[int]]:
    """Stored templates as rows of one matrix, leaving out those of another length (another
    model's); the positions kept."""
    kept = [i for i, t in enumerate(templates) if len(t) == dimension * 4]
    if not kept:
        return np.empty((0, dimension), np.float32), kept
    data = b"".join(templates[i] for i in kept) if len(kept) < len(templates) else b"".join(templates)
    return np.frombuffer(data, "<f4").reshape(len(kept), dimension), kept
