"""Synthetic templates shaped like real ones, for tests and `benchmarks/matcher.py`.

Each identity has a random unit centre; its samples are `sqrt(r)·centre + sqrt(1-r)·noise`
with `r` drawn per sample, so two samples of one identity sit at cosine ~0.5-0.8 and samples
of strangers near 0, as the issue describes real face templates. A query is a fresh sample of
an enrolled identity, never one of its enrolled samples.

Two traits of real embeddings matter to a graph index and are kept:
- anisotropy (variance of axis k ~ (k+1)^-alpha): impostor cosines spread ~0.09, not the
  1/sqrt(512) = 0.044 of isotropic noise;
- look-alike structure: identities come in groups (~64 identities around a shared direction,
  `GROUP_SHARE` of their centre), as real faces cluster by age, sex, ancestry and looks. Over
  all pairs strangers still average cosine 0 (std ~0.09); within a group they sit near 0.2.
`flat=True` drops the groups: every identity is an isolated needle, the worst case for a graph
index (recall at a given `ef` drops sharply; benchmarks/matcher.py --flat shows it).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]

R_LOW, R_HIGH = 0.55, 0.85
GROUP_SHARE = 0.3
IDENTITIES_PER_GROUP = 64


def spectrum(dim: int) -> npt.NDArray[np.float64]:
    """Per-axis standard deviation: effective dimension ~120 at 512-d, ~80 at 128-d."""
    alpha = 0.7 if dim > 256 else 0.5
    return np.asarray((np.arange(dim) + 1.0) ** (-alpha / 2))


def _draw(rng: np.random.Generator, count: int, dim: int) -> npt.NDArray[np.float64]:
    return rng.standard_normal((count, dim)) * spectrum(dim)


def _unit(x: npt.NDArray[np.float64]) -> Matrix:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def samples(rng: np.random.Generator, centres: Matrix, owner: npt.NDArray[np.int64]) -> Matrix:
    """One fresh sample for each entry of `owner` (an index into `centres`)."""
    dim = centres.shape[1]
    r = rng.uniform(R_LOW, R_HIGH, size=(len(owner), 1))
    noise = _unit(_draw(rng, len(owner), dim))
    return _unit(np.sqrt(r) * centres[owner] + np.sqrt(1 - r) * noise)


def gallery(
    size: int, dim: int, seed: int = 0, per_identity: tuple[int, int] = (1, 4), flat: bool = False
) -> tuple[Matrix, npt.NDArray[np.int64], Matrix]:
    """`size` templates of identities with 1..4 samples each: (templates, owner, centres)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(per_identity[0], per_identity[1] + 1, size=size)
    counts = counts[: int(np.searchsorted(np.cumsum(counts), size)) + 1]
    owner = np.repeat(np.arange(len(counts)), counts)[:size]
    centres = _unit(_draw(rng, len(counts), dim))
    if not flat:
        groups = _unit(_draw(rng, max(16, len(counts) // IDENTITIES_PER_GROUP), dim))
        member_of = rng.integers(0, len(groups), size=len(counts))
        centres = _unit(np.sqrt(GROUP_SHARE) * groups[member_of] + np.sqrt(1 - GROUP_SHARE) * centres)
    out = np.empty((size, dim), np.float32)
    for start in range(0, size, 50_000):  # in chunks: the float64 noise of 1M x 512 is 4 GB
        out[start : start + 50_000] = samples(rng, centres, owner[start : start + 50_000])
    return out, owner, centres


def queries(count: int, owner: npt.NDArray[np.int64], centres: Matrix, seed: int = 1) -> Matrix:
    """`count` fresh samples of enrolled identities."""
    rng = np.random.default_rng(seed)
    enrolled = np.unique(owner)
    return samples(rng, centres, rng.choice(enrolled, size=count))


def guids(count: int, seed: int = 2) -> npt.NDArray[np.uint8]:
    """`count` random (version 4) GUIDs as 16 bytes each (labels.guid_strings writes them out)."""
    raw = np.random.default_rng(seed).integers(0, 256, size=(count, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    return raw
