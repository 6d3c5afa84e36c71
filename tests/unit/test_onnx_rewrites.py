"""shared/onnx_rewrites.py: each rewrite leaves onnxruntime's answers bit for bit the same, on
small graphs made here and on the shipped models that have the patterns (where prepared)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from shared import onnx_rewrites
from shared.inference import OnnxModel
from tests.support import REPO

MODELS = Path(os.environ.get("FACEGATE_MODELS_DIR", str(REPO / "var" / "models")))


def run(model: onnx.ModelProto | bytes | str, x: np.ndarray) -> list[np.ndarray]:
    source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else model
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    return [np.asarray(v) for v in session.run(None, {session.get_inputs()[0].name: x})]


def conv_model(activation: list[onnx.NodeProto], initializers: list[onnx.TensorProto], out: str) -> onnx.ModelProto:
    """x (1, 4, 8, 8) -> Conv 4->4 3x3 -> `activation` nodes (reading 'c', writing `out`)."""
    rng = np.random.default_rng(0)
    weights = numpy_helper.from_array(rng.normal(0, 1, (4, 4, 3, 3)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), *activation],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
        [weights, *initializers],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)


def scalar(name: str, value: float, shape: tuple[int, ...] = (1,)) -> onnx.TensorProto:
    return numpy_helper.from_array(np.full(shape, value, np.float32), name)


def probe() -> np.ndarray:
    return np.random.default_rng(1).normal(0, 3, (1, 4, 8, 8)).astype(np.float32)  # both signs, beyond 6


def ops(model: onnx.ModelProto) -> list[str]:
    return [n.op_type for n in model.graph.node]


def test_prelu_becomes_max_min_mul_add_with_the_same_outputs() -> None:
    slope = numpy_helper.from_array(np.array([0.1, -0.5, 2.0, 0.0], np.float32).reshape(4, 1, 1), "slope")
    model = conv_model([helper.make_node("PRelu", ["c", "slope"], ["y"])], [slope], "y")
    before = run(model, probe())
    assert onnx_rewrites.rewrite(model) == {"relu6": 0, "prelu": 1, "transpose_first": 0}
    assert ops(model) == ["Conv", "Max", "Min", "Mul", "Add"]
    after = run(model, probe())
    assert np.array_equal(before[0], after[0])
    assert (before[0] < 0).any() and (before[0] > 0).any()


@pytest.mark.parametrize("swapped", [False, True])
def test_relu_min_max_becomes_one_clip_with_the_same_outputs(swapped: bool) -> None:
    six, zero = ("six", "r") if not swapped else ("r", "six")
    model = conv_model(
        [
            helper.make_node("Relu", ["c"], ["r"]),
            helper.make_node("Min", [six, zero], ["m"]),
            helper.make_node("Max", ["m", "zero"] if not swapped else ["zero", "m"], ["y"]),
        ],
        [scalar("six", 6.0), scalar("zero", 0.0)],
        "y",
    )
    before = run(model, probe())
    assert onnx_rewrites.rewrite(model) == {"relu6": 1, "prelu": 0, "transpose_first": 0}
    assert ops(model) == ["Conv", "Clip"]
    after = run(model, probe())
    assert np.array_equal(before[0], after[0])
    assert before[0].max() == 6.0 and before[0].min() == 0.0  # both bounds were reached


def test_min_max_without_relu_and_other_bounds() -> None:
    """Min(., 6) then Max(., 0) alone is a Clip too; Min(., 5) is not ReLU6."""
    model = conv_model(
        [helper.make_node("Min", ["c", "six"], ["m"]), helper.make_node("Max", ["m", "zero"], ["y"])],
        [scalar("six", 6.0), scalar("zero", 0.0)],
        "y",
    )
    before = run(model, probe())
    assert onnx_rewrites.rewrite(model)["relu6"] == 1
    assert ops(model) == ["Conv", "Clip"]
    assert np.array_equal(before[0], run(model, probe())[0])
    other = conv_model(
        [helper.make_node("Min", ["c", "five"], ["m"]), helper.make_node("Max", ["m", "zero"], ["y"])],
        [scalar("five", 5.0), scalar("zero", 0.0)],
        "y",
    )
    assert onnx_rewrites.rewrite(other)["relu6"] == 0
    assert ops(other) == ["Conv", "Min", "Max"]


def test_a_min_read_elsewhere_is_left_alone() -> None:
    """The Min's output feeds a second node: dropping it would break that node."""
    model = conv_model(
        [
            helper.make_node("Min", ["c", "six"], ["m"]),
            helper.make_node("Max", ["m", "zero"], ["a"]),
            helper.make_node("Add", ["a", "m"], ["y"]),
        ],
        [scalar("six", 6.0), scalar("zero", 0.0)],
        "y",
    )
    assert onnx_rewrites.rewrite(model)["relu6"] == 0
    assert ops(model) == ["Conv", "Min", "Max", "Add"]


def nhwc_model(nodes: list[onnx.NodeProto], initializers: list[onnx.TensorProto]) -> onnx.ModelProto:
    """x (2, 5, 6, 3) NHWC -> `nodes` (the last writing 'y')."""
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, 6, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)


def photo() -> np.ndarray:
    return np.random.default_rng(3).uniform(0, 255, (2, 5, 6, 3)).astype(np.float32)


def test_an_inputs_channel_arithmetic_moves_after_its_transpose_with_the_same_outputs() -> None:
    """(mean - x) / scale, constants first and last, then NHWC -> NCHW and a Relu."""
    mean = numpy_helper.from_array(np.array([122.8, 117.0, 104.3], np.float32), "mean")
    scale = numpy_helper.from_array(np.array([[[[57.1, 58.2, 60.3]]]], np.float32), "scale")
    model = nhwc_model(
        [
            helper.make_node("Sub", ["mean", "x"], ["centred"]),
            helper.make_node("Div", ["centred", "scale"], ["scaled"]),
            helper.make_node("Transpose", ["scaled"], ["nchw"], perm=[0, 3, 1, 2]),
            helper.make_node("Relu", ["nchw"], ["y"]),
        ],
        [mean, scale],
    )
    before = run(model, photo())
    assert onnx_rewrites.rewrite(model)["transpose_first"] == 1
    assert ops(model) == ["Transpose", "Sub", "Div", "Relu"]
    after = run(model, photo())
    assert after[0].shape == (2, 3, 5, 6)
    assert np.array_equal(before[0], after[0])


def test_arithmetic_read_twice_stays_before_the_transpose() -> None:
    mean = numpy_helper.from_array(np.array([1.0, 2.0, 3.0], np.float32), "mean")
    model = nhwc_model(
        [
            helper.make_node("Sub", ["x", "mean"], ["centred"]),
            helper.make_node("Transpose", ["centred"], ["nchw"], perm=[0, 3, 1, 2]),
            helper.make_node("ReduceSum", ["centred"], ["total"], keepdims=0),
            helper.make_node("Add", ["nchw", "total"], ["y"]),
        ],
        [mean],
    )
    assert onnx_rewrites.rewrite(model)["transpose_first"] == 0
    assert ops(model) == ["Sub", "Transpose", "ReduceSum", "Add"]


@pytest.mark.parametrize(
    ("name", "rewrites"), [("facemesh", "prelu"), ("faceres", "relu6"), ("faceapi-resnet", "transpose_first")]
)
def test_shipped_models_answer_the_same(name: str, rewrites: str) -> None:
    path = MODELS / f"{name}.onnx"
    if not path.exists():
        pytest.skip(f"{path} not prepared")
    loaded = OnnxModel(path)  # rewritten as it loads on the CPU
    assert loaded.rewrites[rewrites] > 0
    shape = loaded.input_shape()
    x = np.random.default_rng(2).uniform(0, 1 if name == "facemesh" else 255, [2, *shape[1:]]).astype(np.float32)
    original = run(str(path), x)
    ours = loaded.run(x)
    assert len(ours) == len(original)
    for mine, theirs in zip(ours.values(), original, strict=True):
        assert np.array_equal(mine, theirs)
