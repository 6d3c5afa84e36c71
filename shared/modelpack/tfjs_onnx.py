"""Convert a TF.js graph model (model.json + weight shards) to ONNX.

Only the op set that the face models we ship actually use is supported; an unknown op raises
`UnsupportedOpError` instead of producing a silently wrong graph. Every converted model is
checked numerically against TF.js itself (see `shared.modelpack.verify`) before it is used.

Layout: TF.js graphs are NHWC. The converted graph keeps NHWC at its inputs and outputs and for
all element-wise ops, and wraps each convolution/pool in NHWC->NCHW->NHWC transposes; that keeps
the converter simple (no layout propagation) and onnxruntime's transpose optimizer cancels the
back-to-back pairs when the session is created, so the cost at run time is nil.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 18
TO_NCHW = [0, 3, 1, 2]
TO_NHWC = [0, 2, 3, 1]


class UnsupportedOpError(ValueError):
    """The graph uses a TF op that this converter does not implement."""


def load_weights(model_json: Path) -> dict[str, np.ndarray]:
    """Read the weights of a TF.js graph model (model.json with a weightsManifest)."""
    return load_manifest(json.loads(model_json.read_text())["weightsManifest"], model_json.parent)


def load_manifest(groups: list[dict[str, Any]], base: Path) -> dict[str, np.ndarray]:
    """Read the weight shards named by a TF.js weights manifest, dequantised to float32/int32."""
    out: dict[str, np.ndarray] = {}
    for group in groups:
        blob = b"".join((base / p).read_bytes() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            shape = [int(d) for d in w["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = w.get("quantization")
            if quant:
                qdtype = np.dtype(quant["dtype"])
                raw = np.frombuffer(blob, qdtype, count, offset)
                offset += count * qdtype.itemsize
                if quant["dtype"] == "float16":
                    arr = raw.astype(np.float32)
                else:  # uint8/uint16 affine quantisation: value = q * scale + min
                    arr = raw.astype(np.float32) * quant["scale"] + quant["min"]
            else:
                dtype = np.dtype({"float32": "float32", "int32": "int32", "bool": "bool"}[w["dtype"]])
                arr = np.frombuffer(blob, dtype, count, offset).copy()
                offset += count * dtype.itemsize
            out[w["name"]] = arr.reshape(shape)
    return out


def _attr(node: dict[str, Any], key: str, default: Any = None) -> Any:
    """Decode one attribute of a TF.js node (the JSON form of a TF AttrValue)."""
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "s" in lst:
            return [base64.b64decode(v).decode() for v in lst["s"]]
        if "f" in lst:
            return [float(v) for v in lst["f"]]
        return []
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "i" in a:
        return int(a["i"])
    if "f" in a:
        return float(a["f"])
    if "b" in a:
        return bool(a["b"])
    return default


class _Builder:
    """Accumulates ONNX nodes and initializers while walking the TF graph in order."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.inits: dict[str, onnx.TensorProto] = {}
        self.alias: dict[str, str] = {}
        self.counter = 0
        self.factors: dict[str, np.ndarray] = {}  # ResizeBilinear node -> (h, w) scale factors

    def name(self, ref: str) -> str:
        """Resolve a TF input reference ("node", "node:0") to the ONNX value name."""
        ref = ref.split(":")[0] if ref.endswith(":0") else ref
        return self.alias.get(ref, ref)

    def const_value(self, ref: str) -> np.ndarray:
        return self.weights[self.name(ref)]

    def tmp(self, base: str) -> str:
        self.counter += 1
        return f"{base}__{self.counter}"

    def const(self, base: str, value: np.ndarray) -> str:
        name = self.tmp(base)
        self.inits[name] = numpy_helper.from_array(value, name)
        return name

    def add(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def ints(self, base: str, values: list[int]) -> str:
        return self.const(base, np.asarray(values, dtype=np.int64))


def _activation(b: _Builder, x: str, ops: list[str], extra: list[str], out: str, node: dict[str, Any]) -> str:
    """Apply the fused activation listed after BiasAdd (Relu, Relu6, Prelu, LeakyRelu...)."""
    acts = [o for o in ops if o != "BiasAdd"]
    if not acts:
        return b.add("Identity", [x], out)
    act = acts[0]
    if act == "Relu":
        return b.add("Relu", [x], out)
    if act == "Relu6":
        return b.add(
            "Clip", [x, b.const("zero", np.array(0, np.float32)), b.const("six", np.array(6, np.float32))], out
        )
    if act == "Prelu":
        return b.add("PRelu", [x, b.name(extra[0])], out)
    if act == "LeakyRelu":
        return b.add("LeakyRelu", [x], out, alpha=_attr(node, "leakyrelu_alpha", 0.2))
    if act == "Sigmoid":
        return b.add("Sigmoid", [x], out)
    if act == "Elu":
        return b.add("Elu", [x], out)
    raise UnsupportedOpError(f"fused activation {act}")


def _conv(b: _Builder, node: dict[str, Any], depthwise: bool) -> None:
    """Conv2D / DepthwiseConv2dNative and their fused variants, NHWC in and out."""
    out = node["name"]
    inputs = [i for i in node["input"] if not i.startswith("^")]
    x, w_ref = inputs[0], inputs[1]
    w = b.const_value(w_ref)  # HWIO (conv) or HWCM (depthwise)
    if depthwise:
        h, wd, c, m = w.shape
        kernel = w.reshape(h, wd, 1, c * m).transpose(3, 2, 0, 1)  # -> (C*M, 1, H, W)
        group = c
    else:
        kernel = w.transpose(3, 2, 0, 1)  # -> (O, I, H, W)
        group = 1
    strides = _attr(node, "strides", [1, 1, 1, 1])[1:3]
    dilations = _attr(node, "dilations", [1, 1, 1, 1])[1:3]
    padding = _attr(node, "padding", "VALID")
    attrs: dict[str, Any] = {"strides": strides, "dilations": dilations, "group": group}
    if padding == "SAME":
        attrs["auto_pad"] = "SAME_UPPER"  # TF puts the odd extra pixel at the end, as SAME_UPPER
    elif padding == "EXPLICIT":
        p = _attr(node, "explicit_paddings")
        attrs["pads"] = [p[2], p[4], p[3], p[5]]
    ops = _attr(node, "fused_ops", [])
    conv_in = [
        b.add("Transpose", [b.name(x)], b.tmp(out + "_nchw"), perm=TO_NCHW),
        b.const(out + "_w", kernel.astype(np.float32)),
    ]
    if "BiasAdd" in ops:
        conv_in.append(b.name(inputs[2]))
    y = b.add("Conv", conv_in, b.tmp(out + "_conv"), **attrs)
    y = b.add("Transpose", [y], b.tmp(out + "_nhwc"), perm=TO_NHWC)
    _activation(b, y, ops, inputs[3:], out, node)


def _pool(b: _Builder, node: dict[str, Any], op: str) -> None:
    out = node["name"]
    ksize = _attr(node, "ksize")[1:3]
    strides = _attr(node, "strides")[1:3]
    attrs: dict[str, Any] = {"kernel_shape": ksize, "strides": strides}
    if _attr(node, "padding") == "SAME":
        attrs["auto_pad"] = "SAME_UPPER"  # TF excludes padding from averages, as ONNX does by default
    y = b.add("Transpose", [b.name(node["input"][0])], b.tmp(out + "_nchw"), perm=TO_NCHW)
    y = b.add(op, [y], b.tmp(out + "_pool"), **attrs)
    b.add("Transpose", [y], out, perm=TO_NHWC)


def _matmul(b: _Builder, node: dict[str, Any]) -> None:
    out = node["name"]
    inputs = [i for i in node["input"] if not i.startswith("^")]
    a, w_ref = b.name(inputs[0]), inputs[1]
    if _attr(node, "transpose_a", False):
        raise UnsupportedOpError("MatMul with transpose_a")
    w = b.const_value(w_ref)
    if _attr(node, "transpose_b", False):
        w = w.T
    y = b.add("MatMul", [a, b.const(out + "_w", np.ascontiguousarray(w))], b.tmp(out + "_mm"))
    ops = _attr(node, "fused_ops", [])
    if "BiasAdd" in ops:
        y = b.add("Add", [y, b.name(inputs[2])], b.tmp(out + "_bias"))
    if node["op"] == "_FusedMatMul":
        _activation(b, y, ops, inputs[3:], out, node)
    else:
        b.add("Identity", [y], out)


def _reduce(b: _Builder, node: dict[str, Any], op: str) -> None:
    axes = np.atleast_1d(b.const_value(node["input"][1])).astype(np.int64)
    keep = 1 if _attr(node, "keep_dims", False) else 0
    b.add(op, [b.name(node["input"][0]), b.const("axes", axes)], node["name"], keepdims=keep)


def _strided_slice(b: _Builder, node: dict[str, Any]) -> None:
    """StridedSlice without ellipsis/new-axis masks: ONNX Slice, then Squeeze for shrink axes."""
    out = node["name"]
    if _attr(node, "ellipsis_mask", 0) or _attr(node, "new_axis_mask", 0):
        raise UnsupportedOpError("StridedSlice with ellipsis/new axis")
    begin = [int(v) for v in b.const_value(node["input"][1])]
    end = [int(v) for v in b.const_value(node["input"][2])]
    steps = [int(v) for v in b.const_value(node["input"][3])]
    bm, em, sm = (_attr(node, k, 0) for k in ("begin_mask", "end_mask", "shrink_axis_mask"))
    big = np.iinfo(np.int64).max
    for i in range(len(begin)):
        if bm >> i & 1:
            begin[i] = 0 if steps[i] > 0 else big
        if em >> i & 1:
            end[i] = big if steps[i] > 0 else -big
        if sm >> i & 1:
            end[i] = begin[i] + 1 if begin[i] != -1 else big
    y = b.add(
        "Slice",
        [
            b.name(node["input"][0]),
            b.ints("b", begin),
            b.ints("e", end),
            b.ints("a", list(range(len(begin)))),
            b.ints("s", steps),
        ],
        b.tmp(out + "_slice"),
    )
    shrink = [i for i in range(len(begin)) if sm >> i & 1]
    if shrink:
        b.add("Squeeze", [y, b.ints("sq", shrink)], out)
    else:
        b.add("Identity", [y], out)


def _simple(op: str) -> Callable[[_Builder, dict[str, Any]], None]:
    def convert(b: _Builder, node: dict[str, Any]) -> None:
        b.add(op, [b.name(i) for i in node["input"] if not i.startswith("^")], node["name"])

    return convert


def _rsqrt(b: _Builder, node: dict[str, Any]) -> None:
    y = b.add("Sqrt", [b.name(node["input"][0])], b.tmp(node["name"] + "_sqrt"))
    b.add("Reciprocal", [y], node["name"])


def _square(b: _Builder, node: dict[str, Any]) -> None:
    x = b.name(node["input"][0])
    b.add("Mul", [x, x], node["name"])


def _reshape(b: _Builder, node: dict[str, Any]) -> None:
    shape = b.const_value(node["input"][1]).astype(np.int64)
    b.add("Reshape", [b.name(node["input"][0]), b.const("shape", shape)], node["name"])


def _squeeze(b: _Builder, node: dict[str, Any]) -> None:
    dims = _attr(node, "squeeze_dims", []) or _attr(node, "axis", [])
    ins = [b.name(node["input"][0])] + ([b.ints("axes", dims)] if dims else [])
    b.add("Squeeze", ins, node["name"])


def _expand_dims(b: _Builder, node: dict[str, Any]) -> None:
    axis = np.atleast_1d(b.const_value(node["input"][1])).astype(np.int64)
    b.add("Unsqueeze", [b.name(node["input"][0]), b.const("axes", axis)], node["name"])


def _concat(b: _Builder, node: dict[str, Any]) -> None:
    inputs = [i for i in node["input"] if not i.startswith("^")]
    axis = int(b.const_value(inputs[-1]))
    b.add("Concat", [b.name(i) for i in inputs[:-1]], node["name"], axis=axis)


def _pad(b: _Builder, node: dict[str, Any]) -> None:
    pads = b.const_value(node["input"][1]).astype(np.int64)  # [[before, after], ...] per axis
    ins = [b.name(node["input"][0]), b.const("pads", np.concatenate([pads[:, 0], pads[:, 1]]))]
    if node["op"] == "PadV2":
        ins.append(b.name(node["input"][2]))
    b.add("Pad", ins, node["name"], mode="constant")


def _softmax(b: _Builder, node: dict[str, Any]) -> None:
    b.add("Softmax", [b.name(node["input"][0])], node["name"], axis=-1)


def _relu6(b: _Builder, node: dict[str, Any]) -> None:
    zero, six = b.const("zero", np.array(0, np.float32)), b.const("six", np.array(6, np.float32))
    b.add("Clip", [b.name(node["input"][0]), zero, six], node["name"])


def _resize_bilinear(b: _Builder, node: dict[str, Any]) -> None:
    """ResizeBilinear to a constant size, or by a constant factor (Keras UpSampling2D on an input of
    any size: the size is the tensor's own shape times a constant, see `_upsampling_factors`), on the
    H and W axes of an NHWC tensor."""
    factor = b.factors.get(node["name"])
    if _attr(node, "align_corners", False):
        mode = "align_corners"
    elif _attr(node, "half_pixel_centers", False):
        mode = "half_pixel"
    else:
        mode = "asymmetric"  # TF's legacy default: src = dst * in / out
    if factor is not None:  # all four axes (onnxruntime mishandles `axes` with scales)
        scales = np.array([1.0, factor[0], factor[1], 1.0], np.float32)
        ins = [b.name(node["input"][0]), "", b.const("scales", scales)]
        b.add("Resize", ins, node["name"], mode="linear", coordinate_transformation_mode=mode)
        return
    # sizes of all four axes: the input's batch and channels (read from its shape) around (h, w)
    x = b.name(node["input"][0])
    shape = b.add("Shape", [x], b.tmp(node["name"] + "_shape"))
    batch = b.add("Slice", [shape, b.ints("b", [0]), b.ints("e", [1])], b.tmp(node["name"] + "_n"))
    channels = b.add("Slice", [shape, b.ints("b", [3]), b.ints("e", [4])], b.tmp(node["name"] + "_c"))
    hw = b.const("size", b.const_value(node["input"][1]).astype(np.int64))
    sizes = b.add("Concat", [batch, hw, channels], b.tmp(node["name"] + "_sizes"), axis=0)
    b.add("Resize", [x, "", "", sizes], node["name"], mode="linear", coordinate_transformation_mode=mode)


def _depth_to_space(b: _Builder, node: dict[str, Any]) -> None:
    """TF DepthToSpace (NHWC) is ONNX DepthToSpace in DCR mode on the NCHW transpose."""
    out = node["name"]
    y = b.add("Transpose", [b.name(node["input"][0])], b.tmp(out + "_nchw"), perm=TO_NCHW)
    y = b.add("DepthToSpace", [y], b.tmp(out + "_d2s"), blocksize=_attr(node, "block_size"), mode="DCR")
    b.add("Transpose", [y], out, perm=TO_NHWC)


def _cast(b: _Builder, node: dict[str, Any]) -> None:
    """Cast to float (an integer image input made float: the graph input is float already)."""
    if node.get("attr", {}).get("DstT", {}).get("type") != "DT_FLOAT":
        raise UnsupportedOpError(f"Cast to {node.get('attr', {}).get('DstT')}")
    b.add("Cast", [b.name(node["input"][0])], node["name"], to=TensorProto.FLOAT)


def _upsampling_factors(
    nodes: dict[str, dict[str, Any]], weights: dict[str, np.ndarray]
) -> dict[str, tuple[np.ndarray, set[str]]]:
    """ResizeBilinear nodes whose size is `Mul(StridedSlice(Shape(x)), const)` of their own input x
    (Keras UpSampling2D): {resize node: ((h, w) factors, the size nodes it makes unneeded)}."""
    found: dict[str, tuple[np.ndarray, set[str]]] = {}
    for node in nodes.values():
        if node["op"] != "ResizeBilinear" or node["input"][1] in weights:
            continue
        mul = nodes.get(node["input"][1])
        if mul is None or mul["op"] != "Mul":
            continue
        consts = [i for i in mul["input"] if i in weights]
        others = [nodes.get(i) for i in mul["input"] if i not in weights]
        if len(consts) != 1 or len(others) != 1 or others[0] is None or others[0]["op"] != "StridedSlice":
            continue
        shape = nodes.get(others[0]["input"][0])
        if shape is None or shape["op"] != "Shape" or shape["input"][0] != node["input"][0]:
            continue
        factor = np.broadcast_to(weights[consts[0]].astype(np.float32), (2,)).copy()
        found[node["name"]] = (factor, {mul["name"], others[0]["name"], shape["name"]})
    return found


def _ancestors(nodes: dict[str, dict[str, Any]], outputs: list[str], skip: set[str]) -> set[str]:
    """The nodes that `outputs` depend on (size computations in `skip` left out)."""
    seen: set[str] = set()
    stack = [o.split(":")[0] for o in outputs]
    while stack:
        name = stack.pop()
        if name in seen or name in skip or name not in nodes:
            continue
        seen.add(name)
        stack.extend(i.split(":")[0].lstrip("^") for i in nodes[name].get("input", []))
    return seen


def _identity(b: _Builder, node: dict[str, Any]) -> None:
    b.alias[node["name"]] = b.name(node["input"][0])


CONVERTERS: dict[str, Callable[[_Builder, dict[str, Any]], None]] = {
    "Conv2D": lambda b, n: _conv(b, n, depthwise=False),
    "_FusedConv2D": lambda b, n: _conv(b, n, depthwise=False),
    "DepthwiseConv2dNative": lambda b, n: _conv(b, n, depthwise=True),
    "FusedDepthwiseConv2dNative": lambda b, n: _conv(b, n, depthwise=True),
    "MaxPool": lambda b, n: _pool(b, n, "MaxPool"),
    "AvgPool": lambda b, n: _pool(b, n, "AveragePool"),
    "MatMul": _matmul,
    "_FusedMatMul": _matmul,
    "Mean": lambda b, n: _reduce(b, n, "ReduceMean"),
    "Sum": lambda b, n: _reduce(b, n, "ReduceSum"),
    "Max": lambda b, n: _reduce(b, n, "ReduceMax"),
    "StridedSlice": _strided_slice,
    "Add": _simple("Add"),
    "AddV2": _simple("Add"),
    "Sub": _simple("Sub"),
    "Mul": _simple("Mul"),
    "RealDiv": _simple("Div"),
    "Maximum": _simple("Max"),
    "Minimum": _simple("Min"),
    "Abs": _simple("Abs"),
    "Neg": _simple("Neg"),
    "Exp": _simple("Exp"),
    "Relu": _simple("Relu"),
    "Relu6": _relu6,
    "Prelu": _simple("PRelu"),
    "Sigmoid": _simple("Sigmoid"),
    "Tanh": _simple("Tanh"),
    "Softmax": _softmax,
    "Rsqrt": _rsqrt,
    "Square": _square,
    "Reshape": _reshape,
    "Squeeze": _squeeze,
    "ExpandDims": _expand_dims,
    "ConcatV2": _concat,
    "Pad": _pad,
    "PadV2": _pad,
    "Identity": _identity,
    "Cast": _cast,
    "ResizeBilinear": _resize_bilinear,
    "DepthToSpace": _depth_to_space,
}


def convert(
    model_json: Path,
    outputs: list[str] | None = None,
    name: str | None = None,
    input_size: tuple[int, int] | None = None,
) -> onnx.ModelProto:
    """Build an ONNX model from a TF.js graph model.

    `outputs` names the TF nodes to expose (default: the signature outputs, else every node no
    other node consumes); only the nodes they depend on are converted, so a graph can be cut
    before post-processing that Facegate does in Python. The input keeps the TF.js shape, with a
    symbolic batch dimension; `input_size` (h, w) fixes the height and width of an input that
    takes any size.
    """
    spec = json.loads(model_json.read_text())
    nodes: list[dict[str, Any]] = spec["modelTopology"]["node"]
    b = _Builder(load_weights(model_json))
    by_name = {n["name"]: n for n in nodes}
    upsampling = _upsampling_factors(by_name, b.weights)
    skip = {n for _, unneeded in upsampling.values() for n in unneeded}
    b.factors = {k: factor for k, (factor, _) in upsampling.items()}
    wanted = _default_outputs(spec) if outputs is None else outputs
    needed = _ancestors(by_name, wanted, skip)
    graph_inputs: list[onnx.ValueInfoProto] = []
    for node in nodes:
        op = node["op"]
        if node["name"] not in needed:
            continue
        if op == "Const":
            value = b.weights.get(node["name"])
            if value is not None:
                b.inits[node["name"]] = numpy_helper.from_array(np.ascontiguousarray(value), node["name"])
            continue
        if op == "Placeholder":
            dims = [int(d["size"]) for d in node["attr"]["shape"]["shape"]["dim"]]
            if input_size is not None:
                dims[1:3] = input_size
            shape: list[int | str] = ["batch" if i == 0 else d for i, d in enumerate(dims)]
            graph_inputs.append(helper.make_tensor_value_info(node["name"], TensorProto.FLOAT, shape))
            continue
        converter = CONVERTERS.get(op)
        if converter is None:
            raise UnsupportedOpError(f"{op} (node {node['name']})")
        converter(b, node)
    graph_outputs = []
    for out in wanted:
        ref = b.name(out)
        if ref != out:  # an Identity output: give the graph output its TF name
            b.add("Identity", [ref], out)
        graph_outputs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, None))
    used = {i for n in b.nodes for i in n.input}
    inits = [t for k, t in b.inits.items() if k in used]
    graph = helper.make_graph(b.nodes, name or model_json.stem, graph_inputs, graph_outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="facegate-tfjs2onnx")
    model.ir_version = 9
    _fill_output_shapes(model)
    onnx.checker.check_model(model, full_check=True)
    return model


def _fill_output_shapes(model: onnx.ModelProto) -> None:
    """Give each graph output the type and shape that ONNX shape inference derives for it."""
    inferred = onnx.shape_inference.infer_shapes(model)
    for out, typed in zip(model.graph.output, inferred.graph.output, strict=True):
        out.type.CopyFrom(typed.type)


def _default_outputs(spec: dict[str, Any]) -> list[str]:
    """Signature outputs if the model has them, else the graph's sink nodes in file order."""
    signature = spec.get("signature", {}).get("outputs")
    if signature:
        return [v["name"].split(":")[0] for v in signature.values()]
    nodes = spec["modelTopology"]["node"]
    consumed = {i.split(":")[0].lstrip("^") for n in nodes for i in n.get("input", [])}
    return [n["name"] for n in nodes if n["op"] not in ("Const", "Placeholder") and n["name"] not in consumed]
