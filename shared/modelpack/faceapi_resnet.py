"""Build an ONNX graph for face-api's FaceRecognitionNet (dlib's 128-d ResNet-29, ported).

face-api ships only the weights (a TF.js weights manifest, uint8-quantised); the graph lives in
its TypeScript source (src/faceRecognitionNet/*.ts). This module writes that same graph with
the `onnx` package: conv (+bias) -> per-channel scale (+bias) -> ReLU blocks, residual blocks,
down-sampling blocks whose shortcut is a 2x2 average pool zero-padded to the new width, global
average pool and a 256x128 projection. The input is a 150x150 RGB face chip (0..255, NHWC, dlib
chip alignment); the mean subtraction and /255 of face-api happen inside the graph.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from shared.modelpack.tfjs_onnx import OPSET, load_manifest

MEAN_RGB = np.array([122.782, 117.001, 104.298], np.float32)
INPUT_SIZE = 150


class _Graph:
    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.w = weights
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.n = 0

    def const(self, value: np.ndarray) -> str:
        self.n += 1
        name = f"c{self.n}"
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op: str, inputs: list[str], **attrs: Any) -> str:
        self.n += 1
        out = f"{op.lower()}{self.n}"
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def conv_layer(self, x: str, prefix: str, stride: int, relu: bool) -> str:
        """face-api convLayer: conv2d + bias, then scale layer (x * weights + biases), ReLU."""
        kernel = self.w[f"{prefix}/conv/filters"].transpose(3, 2, 0, 1)  # HWIO -> OIHW
        # Fold the scale layer into the convolution: (conv(x)+b)*s+t = conv_{W*s}(x) + (b*s+t).
        s = self.w[f"{prefix}/scale/weights"]
        bias = self.w[f"{prefix}/conv/bias"] * s + self.w[f"{prefix}/scale/biases"]
        attrs: dict[str, object] = {"strides": [stride, stride]}
        if stride == 1:
            attrs["auto_pad"] = "SAME_UPPER"
        y = self.op(
            "Conv",
            [x, self.const((kernel * s[:, None, None, None]).astype(np.float32)), self.const(bias.astype(np.float32))],
            **attrs,
        )
        return self.op("Relu", [y]) if relu else y

    def residual(self, x: str, prefix: str) -> str:
        y = self.conv_layer(x, f"{prefix}/conv1", 1, True)
        y = self.conv_layer(y, f"{prefix}/conv2", 1, False)
        return self.op("Relu", [self.op("Add", [y, x])])

    def residual_down(self, x: str, prefix: str, size: int, channels: int) -> tuple[str, int]:
        """Down block; `size` is the input side, returned with the output side."""
        y = self.conv_layer(x, f"{prefix}/conv1", 2, True)
        y = self.conv_layer(y, f"{prefix}/conv2", 1, False)
        conv_side, pool_side = (size - 3) // 2 + 1, size // 2
        if conv_side != pool_side:  # face-api appends a zero row and column to the conv branch
            y = self.op("Pad", [y, self.const(np.array([0, 0, 0, 0, 0, 0, 1, 1], np.int64))])
        pooled = self.op("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
        out_channels = int(self.w[f"{prefix}/conv2/conv/filters"].shape[3])
        if out_channels != channels:  # widen the shortcut with zero channels
            pads = np.array([0, 0, 0, 0, 0, out_channels - channels, 0, 0], np.int64)
            pooled = self.op("Pad", [pooled, self.const(pads)])
        return self.op("Relu", [self.op("Add", [pooled, y])]), pool_side


def build(manifest_json: Path) -> onnx.ModelProto:
    """Build the ONNX model from face-api's `face_recognition_model-weights_manifest.json`."""
    weights = load_manifest(json.loads(manifest_json.read_text()), manifest_json.parent)
    g = _Graph(weights)
    x = g.op("Sub", ["input", g.const(MEAN_RGB)])
    x = g.op("Mul", [x, g.const(np.array(1 / 255, np.float32))])
    x = g.op("Transpose", [x], perm=[0, 3, 1, 2])
    x = g.conv_layer(x, "conv32_down", 2, True)  # 7x7 valid, 150 -> 72
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2])  # 72 -> 35
    size, channels = 35, 32
    for block in ("conv32_1", "conv32_2", "conv32_3"):
        x = g.residual(x, block)
    stages = [
        ("conv64_down", ["conv64_1", "conv64_2", "conv64_3"]),
        ("conv128_down", ["conv128_1", "conv128_2"]),
        ("conv256_down", ["conv256_1", "conv256_2"]),
        ("conv256_down_out", []),
    ]
    for down, blocks in stages:
        x, size = g.residual_down(x, down, size, channels)
        channels = int(weights[f"{down}/conv2/conv/filters"].shape[3])
        for block in blocks:
            x = g.residual(x, block)
    x = g.op("ReduceMean", [x, g.const(np.array([2, 3], np.int64))], keepdims=0)
    g.nodes.append(helper.make_node("MatMul", [x, g.const(weights["fc"].astype(np.float32))], ["descriptor"]))
    graph = helper.make_graph(
        g.nodes,
        "faceapi_resnet128",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", INPUT_SIZE, INPUT_SIZE, 3])],
        [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, ["batch", 128])],
        g.inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="facegate-faceapi-resnet"
    )
    model.ir_version = 9
    onnx.checker.check_model(model, full_check=True)
    return model
