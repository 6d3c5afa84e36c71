"""Similarity of two templates -> SmartFace's 0..100 score, calibrated for the shipped model.

Monotone and linear, clamped: cosine <= SIMILARITY_AT_0 scores 0, cosine 1 (identical) scores
100. SIMILARITY_AT_0 is chosen so that the default threshold 40 falls at cosine 0.925, between
the most similar pair of different people (0.916) and the least similar pair of one person
(0.938) of ../shared/faces/pairs.csv, measured through the services' own path (detector crops
as JPEG, faceapi-resnet with its mirrored pass; benchmarks/accuracy.py reprints the figures).
At threshold 40: FAR 0 of 262 different-person pairs (a normal fit to their similarities,
mean 0.834, s.d. 0.031, puts it at about 2e-3) and TAR 38 of 38.

This is the only place that maps similarity to score: the matcher's thresholds (`passes`,
`similarity_floor`), Verify's confidence and the benchmarks all use it.
"""

from __future__ import annotations

import math

import numpy as np

MODEL = "faceapi-resnet"
SIMILARITY_AT_40 = 0.925
SIMILARITY_AT_100 = 1.0
SIMILARITY_AT_0 = SIMILARITY_AT_100 - (SIMILARITY_AT_100 - SIMILARITY_AT_40) / 0.6  # 0.875


def score_from_similarity(similarity: float) -> int:
    """Cosine similarity in [-1, 1] -> integer score 0..100 (linear, clamped, monotone)."""
    fraction = (similarity - SIMILARITY_AT_0) / (SIMILARITY_AT_100 - SIMILARITY_AT_0)
    return round(100 * min(1.0, max(0.0, fraction)))


def similarity(a: bytes, b: bytes) -> float:
    """Cosine of two templates as they travel (float32 bytes, already L2-normalised)."""
    return float(np.frombuffer(a, "<f4") @ np.frombuffer(b, "<f4"))


def score_of_templates(a: bytes, b: bytes) -> int:
    """How alike two templates are on SmartFace's 0..100 score (Verify's confidence)."""
    return score_from_similarity(similarity(a, b))


def passes(similarity: float, threshold: int) -> bool:
    """True when a candidate of this similarity reaches `threshold` (0..100), as SmartFace:
    score at or above the threshold."""
    return score_from_similarity(similarity) >= threshold


def similarity_floor(threshold: int) -> float:
    """A similarity below which no candidate can pass `threshold` (a safe lower bound of
    `passes`: rounding lets a score reach the threshold half a point early)."""
    if threshold <= 0:
        return -math.inf
    return SIMILARITY_AT_0 + (threshold - 0.5) / 100 * (SIMILARITY_AT_100 - SIMILARITY_AT_0) - 1e-9
