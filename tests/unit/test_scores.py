"""Similarity -> SmartFace's 0..100 score (shared/scores.py), as Verify answers two templates."""

from __future__ import annotations

import numpy as np

from shared.scores import SIMILARITY_AT_40, score_from_similarity, score_of_templates


def template(*values: float) -> bytes:
    vector = np.asarray(values, "<f4")
    return (vector / np.linalg.norm(vector)).astype("<f4").tobytes()


def test_identical_templates_score_100() -> None:
    a = template(0.3, -0.2, 0.9, 0.1)
    assert score_of_templates(a, a) == 100


def test_orthogonal_and_opposite_templates_score_0() -> None:
    assert score_of_templates(template(1, 0, 0, 0), template(0, 1, 0, 0)) == 0
    assert score_of_templates(template(1, 0, 0, 0), template(-1, 0, 0, 0)) == 0


def test_the_default_threshold_falls_at_its_similarity() -> None:
    angle = np.arccos(SIMILARITY_AT_40)
    assert score_of_templates(template(1, 0), template(np.cos(angle), np.sin(angle))) == 40
    assert score_of_templates(template(1, 0), template(0.95, np.sqrt(1 - 0.95**2))) == score_from_similarity(0.95)
