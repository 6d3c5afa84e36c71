"""Graph rewrites that make onnxruntime's CPU kernels cheaper and leave every output bit for bit
the same (shared.inference applies them to each model as it loads it on the CPU).

- PRelu(x, slope) -> Max(x, 0) + slope * Min(x, 0). onnxruntime's PRelu kernel broadcasts its
  per-channel slope element by element; the four plain element-wise ops take a third of its
  time. FaceMesh (28 PRelus) runs in 1.4 ms instead of 3.4 ms per face (1 intra-op thread,
  2026-12-06). Exact: for x >= 0 the sum is x + slope * 0 = x, for x < 0 it is 0 + slope * x.
- Relu then Min(., 6) then Max(., 0), TensorFlow's ReLU6 as the TF.js converter writes it ->
  one Clip(x, 0, 6), which onnxruntime fuses into the Conv before it (and keeps the convolutions
  in its blocked layout instead of reordering around the element-wise ops). The age and gender
  model (faceres, 27 of them) runs in about 6 ms instead of 8 per face. Exact: min(max(x, 0), 6)
  is the same value whichever way it is written.

- An input's per-channel arithmetic before its layout Transpose (the recognition model's
  `(x - mean) * scale` on the NHWC photo, then NHWC -> NCHW) -> the Transpose first, then the same
  arithmetic on NCHW with the constants transposed alike: onnxruntime broadcasts a constant over
  the last axis of 3 channels slowly. A face's template (the face and its mirror in one batch),
  CPU median of 8 alternating rounds: 5.62 ms without, 5.36 ms with (2026-12-06 11:40 UTC, load
  average 3.7). Exact: element-wise arithmetic commutes with a permutation of the elements.

`rewrite` answers how many of each it made; a model without these patterns is left as it is.
tests/unit/test_onnx_rewrites.py checks each on small graphs against onnxruntime's own answers,
and on the shipped models where they are prepared.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper


def rewrite(model: onnx.ModelProto) -> dict[str, int]:
    """Rewrite `model` in place; how many of each rewrite were made, by name."""
    made = {
        "relu6": _relu6_to_clip(model.graph),
        "prelu": _split_prelu(model.graph),
        "transpose_first": _transpose_first(model.graph),
    }
    if any(made.values()):
        _drop_unread_constants(model.graph)  # the Min's and Max's own bounds (onnxruntime warns of each)
    return made


def _constants(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    return {i.name: numpy_helper.to_array(i) for i in graph.initializer}


def _is_scalar(constants: dict[str, np.ndarray], name: str, value: float) -> bool:
    found = constants.get(name)
    return found is not None and found.size == 1 and float(found.ravel()[0]) == value


def _float32(constants: dict[str, np.ndarray], name: str) -> bool:
    found = constants.get(name)
    return found is not None and found.dtype == np.float32


def _uses(graph: onnx.GraphProto) -> dict[str, int]:
    """How many node inputs and graph outputs read each value."""
    count: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            count[name] = count.get(name, 0) + 1
    for output in graph.output:
        count[output.name] = count.get(output.name, 0) + 1
    return count


def _readers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    """The nodes that read each value."""
    found: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            found.setdefault(name, []).append(node)
    return found


def _drop_unread_constants(graph: onnx.GraphProto) -> None:
    read = _uses(graph)
    inputs = {i.name for i in graph.input}  # an old model's initializers may be inputs too: keep those
    kept = [i for i in graph.initializer if i.name in read or i.name in inputs]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def _replace_nodes(graph: onnx.GraphProto, nodes: list[onnx.NodeProto]) -> None:
    del graph.node[:]
    graph.node.extend(nodes)


def _relu6_to_clip(graph: onnx.GraphProto) -> int:
    """[Relu ->] Min(., 6) -> Max(., 0) (either operand order) -> Clip(x, 0, 6); the Relu and the
    Min go only where nothing else reads their outputs."""
    constants = _constants(graph)
    made_by = {output: node for node in graph.node for output in node.output}
    uses = _uses(graph)
    dropped: set[int] = set()
    clips: dict[int, onnx.NodeProto] = {}
    bounds: list[onnx.TensorProto] = []
    for node in graph.node:
        if node.op_type != "Max" or len(node.input) != 2:
            continue
        inner, zero = node.input
        if not _is_scalar(constants, zero, 0.0):
            inner, zero = zero, inner
        minimum = made_by.get(inner)
        if not _is_scalar(constants, zero, 0.0) or minimum is None or minimum.op_type != "Min":
            continue
        if len(minimum.input) != 2 or uses.get(inner) != 1:
            continue
        source, six = minimum.input
        if not _is_scalar(constants, six, 6.0):
            source, six = six, source
        if not _is_scalar(constants, six, 6.0):
            continue
        relu = made_by.get(source)
        if relu is not None and relu.op_type == "Relu" and uses.get(source) == 1:
            dropped.add(id(relu))  # Clip's lower bound is the Relu
            source = relu.input[0]
        dropped.add(id(minimum))
        # Clip's bounds must be scalars (rank 0): the model's own values, reshaped.
        low, high = f"{node.name}/relu6/low", f"{node.name}/relu6/high"
        bounds.append(numpy_helper.from_array(constants[zero].reshape(()), low))
        bounds.append(numpy_helper.from_array(constants[six].reshape(()), high))
        clips[id(node)] = helper.make_node("Clip", [source, low, high], list(node.output), name=f"{node.name}/relu6")
    if clips:
        graph.initializer.extend(bounds)
        _replace_nodes(graph, [clips.get(id(n), n) for n in graph.node if id(n) not in dropped])
    return len(clips)


def _split_prelu(graph: onnx.GraphProto) -> int:
    """PRelu(x, slope) -> Add(Max(x, 0), Mul(Min(x, 0), slope))."""
    constants = _constants(graph)
    # float32 slopes only: the zero added is float32, and so are all the models shipped.
    prelus = [n for n in graph.node if n.op_type == "PRelu" and _float32(constants, n.input[1])]
    if not prelus:
        return 0
    zero = "facegate_rewrite/zero"
    graph.initializer.append(numpy_helper.from_array(np.zeros((), np.float32), zero))
    chosen = {id(n) for n in prelus}
    nodes: list[onnx.NodeProto] = []
    for index, node in enumerate(graph.node):
        if id(node) not in chosen:
            nodes.append(node)
            continue
        x, slope = node.input
        stem = f"facegate_rewrite/prelu{index}"
        nodes += [
            helper.make_node("Max", [x, zero], [f"{stem}/positive"], name=f"{stem}/max"),
            helper.make_node("Min", [x, zero], [f"{stem}/negative"], name=f"{stem}/min"),
            helper.make_node("Mul", [f"{stem}/negative", slope], [f"{stem}/scaled"], name=f"{stem}/mul"),
            helper.make_node("Add", [f"{stem}/positive", f"{stem}/scaled"], list(node.output), name=f"{stem}/add"),
        ]
    _replace_nodes(graph, nodes)
    return len(prelus)


ELEMENTWISE = ("Add", "Sub", "Mul", "Div")


def _transpose_first(graph: onnx.GraphProto) -> int:
    """Graph input -> Add/Sub/Mul/Div with constants, each read only by the next -> Transpose:
    Transpose the input first, then the same ops with each constant transposed (after padding
    its shape with leading 1s to the input's rank, as broadcasting does)."""
    constants = _constants(graph)
    uses = _uses(graph)
    readers = _readers(graph)
    made = 0
    for value in graph.input:
        if value.name in constants:  # an old model's initializer listed as an input
            continue
        rank = len(value.type.tensor_type.shape.dim)
        chain: list[onnx.NodeProto] = []
        current = value.name
        while uses.get(current) == 1 and len(readers.get(current, [])) == 1:
            node = readers[current][0]
            if node.op_type not in ELEMENTWISE or len(node.input) != 2:
                break
            other = node.input[1] if node.input[0] == current else node.input[0]
            if other not in constants or constants[other].ndim > rank or other == current:
                break
            chain.append(node)
            current = node.output[0]
        if not chain or uses.get(current) != 1 or len(readers.get(current, [])) != 1:
            continue
        transpose = readers[current][0]
        if transpose.op_type != "Transpose":
            continue
        perm = next((list(a.ints) for a in transpose.attribute if a.name == "perm"), None)
        if perm is None or sorted(perm) != list(range(rank)):
            continue
        stem = f"facegate_rewrite/transpose_first{made}"
        moved = [helper.make_node("Transpose", [value.name], [f"{stem}/x"], perm=perm, name=f"{stem}/transpose")]
        data = f"{stem}/x"
        for index, node in enumerate(chain):
            data_first = node.input[0] != node.input[1] and node.input[1] in constants
            constant = node.input[1] if data_first else node.input[0]
            array = constants[constant]
            permuted = np.transpose(array.reshape((1,) * (rank - array.ndim) + array.shape), perm)
            name = f"{stem}/constant{index}"
            graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(permuted), name))
            output = transpose.output[0] if index == len(chain) - 1 else f"{stem}/step{index}"
            inputs = [data, name] if data_first else [name, data]
            moved.append(helper.make_node(node.op_type, inputs, [output], name=f"{stem}/{node.op_type.lower()}{index}"))
            data = output
        replaced = {id(n) for n in [*chain, transpose]}
        nodes: list[onnx.NodeProto] = []
        for node in graph.node:
            if id(node) == id(chain[0]):
                nodes.extend(moved)
            elif id(node) not in replaced:
                nodes.append(node)
        _replace_nodes(graph, nodes)
        made += 1
        constants = _constants(graph)
        uses = _uses(graph)
        readers = _readers(graph)
    return made
