"""shared/threads.py: one rule for every pool, from the cores given."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from shared import threads


def test_the_plan_shares_the_cores_among_the_worker_threads() -> None:
    assert threads.ThreadPlan(cores=2, workers=2).onnx_intra == 1
    assert threads.ThreadPlan(cores=8, workers=2).onnx_intra == 4
    assert threads.ThreadPlan(cores=8, workers=2).opencv == 4
    assert threads.ThreadPlan(cores=1, workers=4).onnx_intra == 1  # never none
    assert threads.ThreadPlan(cores=16, workers=1).blas == 1
    assert threads.ThreadPlan(cores=16, workers=1).onnx_inter == 1


def test_the_cores_come_from_the_setting_else_the_affinity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(threads.CORES_VARIABLE, "3")
    assert threads.available_cores() == 3
    monkeypatch.setenv(threads.CORES_VARIABLE, "")
    assert threads.available_cores() == len(os.sched_getaffinity(0))
    assert threads.available_cores(5) == 5


def test_apply_sets_blas_and_opencv_and_effective_reads_them_back() -> None:
    assert np.ones((64, 64)) @ np.ones(64) is not None  # BLAS loaded
    before = cv2.getNumThreads()
    try:
        threads.apply(threads.ThreadPlan(cores=4, workers=2))
        found = threads.effective(workers=2)
        assert found["blas"] == 1 and found["opencv"] == 2 and found["workers"] == 2
        assert all(os.environ[name] == "1" for name in threads.BLAS_VARIABLES)
        assert 'facegate_threads{service="x",pool="blas"} 1' in threads.metrics_text("x")
    finally:
        cv2.setNumThreads(before)
