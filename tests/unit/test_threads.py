"""shared/threads.py: one rule for every pool, from the cores given."""

from __future__ import annotations

import os
from pathlib import Path
from typing import cast

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


def test_a_lone_request_may_use_every_core() -> None:
    assert threads.ThreadPlan(cores=2, workers=2).onnx_intra_alone == 2
    assert threads.ThreadPlan(cores=8, workers=2).onnx_intra_alone == 8
    assert threads.ThreadPlan(cores=1, workers=2).onnx_intra_alone == 1


def test_the_detector_runs_a_lone_request_on_every_core_and_the_others_on_their_share() -> None:
    from services.detector.engine import Detector
    from services.detector.service import LoneOrShared

    shared, alone = cast(Detector, object()), cast(Detector, object())
    chooser = LoneOrShared(shared, alone, idle=lambda: 1.0, spare=0.9)
    with chooser.choose() as first:
        assert first is alone
        with chooser.choose() as second:  # one is running: this one gets its share
            assert second is shared
            with chooser.choose() as third:
                assert third is shared
        assert chooser.running == 1
    assert chooser.running == 0
    with chooser.choose() as again:
        assert again is alone
    assert chooser.lone_runs == 2
    only = LoneOrShared(shared, None)  # one core, or a GPU: one set of sessions
    with only.choose() as chosen:
        assert chosen is shared


def test_sessions_of_more_than_one_thread_do_not_spin(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    from shared.inference import OnnxModel, session_threads

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    path = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9), str(path))
    lone, shared = OnnxModel(path, threads=2), OnnxModel(path, threads=1)
    two, one = lone.session.get_session_options(), shared.session.get_session_options()
    assert two.intra_op_num_threads == 2
    assert two.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    with pytest.raises(RuntimeError, match="allow_spinning"):  # not set: onnxruntime's default
        one.get_session_config_entry("session.intra_op.allow_spinning")
    lone.alone = True  # /metrics reports a lone request's sessions apart
    # Other tests' sessions may still be alive in this process: count these two only.
    assert session_threads([lone, shared]) == {"onnx_intra": 1, "onnx_intra_alone": 2, "onnx_inter": 1}
    pools = threads.effective()
    assert pools["onnx_intra_alone"] >= 2


def test_a_lone_request_on_a_busy_machine_gets_its_share() -> None:
    from services.detector.engine import Detector
    from services.detector.service import LoneOrShared

    shared, alone = cast(Detector, object()), cast(Detector, object())
    idle = [0.5]
    chooser = LoneOrShared(shared, alone, idle=lambda: idle[0], spare=0.9)
    with chooser.choose() as chosen:
        assert chosen is shared
    idle[0] = 1.2
    with chooser.choose() as chosen:
        assert chosen is alone
    assert chooser.lone_runs == 1


def test_idle_cores_come_from_the_machines_cpu_times_over_the_last_moment() -> None:
    from services.detector import service

    readings = iter([(100.0, 1000.0), (150.0, 1100.0), (150.0, 1200.0), (200.0, 1300.0), None])
    now = [0.0]
    idle = service.IdleCores(cores=2, read=lambda: next(readings), clock=lambda: now[0])
    assert idle() == 0.0  # one reading so far
    now[0] = 0.1
    assert idle() == 0.0  # too soon to read again
    now[0] = 0.3
    assert idle() == 1.0  # 50 of 100 jiffies idle, 2 cores: 1 core idle
    now[0] = 0.6
    assert idle() == 0.0  # both busy
    now[0] = 0.9
    assert idle() == 1.0  # one idle again
    now[0] = 1.2
    assert idle() == 1.0  # unreadable: the last figure stays
    assert service.cpu_times("/nonexistent") is None
    found = service.cpu_times()
    assert found is None or 0 <= found[0] <= found[1]
