"""One base class for every onnxruntime model: load once, warm up, predict.

Execution providers: the setting names a preference ('cpu', 'cuda' or 'gpu'); we use CUDA only
when the installed onnxruntime build offers it (onnxruntime-gpu), else CPU, so the same image
and settings run on both kinds of host. Sessions are created once per process and shared by the
worker threads (onnxruntime's `run` is thread-safe); the intra-op thread count is a setting
because replicas on one host should not each grab every core: shared/threads.py decides it
from the cores the process is given. A model's PRelu activations are rewritten as the same
function in operators onnxruntime runs faster when it is loaded (`without_prelu`: FaceMesh).
"""

from __future__ import annotations

import logging
import weakref
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from shared import threads as thread_pools
from shared.settings import Provider

log = logging.getLogger(__name__)

# The resource ids of SmartFace (and FACEGATE_EXECUTION_PROVIDER): 'gpu' and 'cuda' are one.
Device = Provider


def choose_providers(device: Device, available: list[str] | None = None) -> list[str]:
    """Execution providers for `device`, limited to what this onnxruntime build offers."""
    offered = ort.get_available_providers() if available is None else available
    if device in ("cuda", "gpu") and "CUDAExecutionProvider" in offered:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device in ("cuda", "gpu"):
        log.warning("device=%s asked for but onnxruntime offers %s; using CPU", device, offered)
    return ["CPUExecutionProvider"]


def intra_op_threads(worker_threads: int) -> int:
    """Cores per inference: the worker pool's threads share the cores given to the process
    (FACEGATE_CPU_CORES or its affinity) instead of each one grabbing every core, which makes
    concurrent requests slower, not faster (shared/threads.py)."""
    return thread_pools.plan(worker_threads).onnx_intra


def without_prelu(model: onnx.ModelProto) -> int:
    """Rewrite in place each PRelu whose slope `a` is a constant as (1 - a) * Relu(x) + a * x,
    the same function; returns how many. onnxruntime's CPU PRelu broadcasts its slope slowly
    and keeps the convolution before it from fusing its activation: FaceMesh (28 PRelu, converted
    from TF.js) took 3.5 ms a face with them and 1.2 without, its points equal within 3e-5 px."""
    constants = {i.name: i for i in model.graph.initializer}
    nodes, count = [], 0
    for node in model.graph.node:
        if node.op_type != "PRelu" or node.input[1] not in constants:
            nodes.append(node)
            continue
        x, slope, y = node.input[0], node.input[1], node.output[0]
        keep = numpy_helper.to_array(constants[slope])
        model.graph.initializer.append(numpy_helper.from_array((1 - keep).astype(keep.dtype), f"{y}__keep"))
        nodes += [
            helper.make_node("Relu", [x], [f"{y}__relu"], name=f"{y}__relu"),
            helper.make_node("Mul", [f"{y}__relu", f"{y}__keep"], [f"{y}__pos"], name=f"{y}__pos"),
            helper.make_node("Mul", [x, slope], [f"{y}__lin"], name=f"{y}__lin"),
            helper.make_node("Add", [f"{y}__pos", f"{y}__lin"], [y], name=f"{y}__add"),
        ]
        count += 1
    if count:
        del model.graph.node[:]
        model.graph.node.extend(nodes)
    return count


def session_model(path: Path) -> str | bytes:
    """What onnxruntime loads for the model file at `path`: the file itself, or the model
    rewritten by `without_prelu` (serialised) when it has any PRelu to rewrite."""
    model = onnx.load(str(path))
    return model.SerializeToString() if without_prelu(model) else str(path)


def session_options(threads: int) -> ort.SessionOptions:
    """Options of every session: `threads` intra-op threads, one inter-op (our graphs are
    chains: nothing to run side by side), every graph optimisation. With more than one thread,
    the pool's threads sleep between runs instead of spinning: a spinning thread holds a core
    other streams and requests need. RetinaFace at 896x512 with 2 threads, 60 runs 50 ms apart
    (as a camera's frames come), the 2-core machine shared (load average 3): the process's CPU
    57 ms a run spinning (the gaps included), 17 not; the run's wall time 31 and 16 ms."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads > 1:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


# Every live session of this process, for `session_threads` (what /metrics reports).
_SESSIONS: weakref.WeakSet[OnnxModel] = weakref.WeakSet()


def session_threads() -> dict[str, int]:
    """The largest intra-op and inter-op thread counts of the live sessions (none: {})."""
    found: dict[str, int] = {}
    for model in list(_SESSIONS):
        options = model.session.get_session_options()
        found["onnx_intra"] = max(found.get("onnx_intra", 0), options.intra_op_num_threads)
        found["onnx_inter"] = max(found.get("onnx_inter", 0), options.inter_op_num_threads)
    return found


class OnnxModel:
    """An onnxruntime session with named inputs/outputs and a warm-up.

    Subclasses add pre- and post-processing; `run` stays the only place that calls onnxruntime.
    """

    def __init__(self, path: Path, *, device: Device = "cpu", threads: int = 1) -> None:
        self.path = path
        options = session_options(threads)
        self.session = ort.InferenceSession(session_model(path), options, providers=choose_providers(device))
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]
        _SESSIONS.add(self)

    @property
    def providers(self) -> list[str]:
        return list(self.session.get_providers())

    def input_shape(self) -> list[int]:
        """The model's input shape with the symbolic batch dimension reported as 1."""
        return [d if isinstance(d, int) else 1 for d in self.session.get_inputs()[0].shape]

    def run(self, batch: np.ndarray, outputs: list[str] | None = None) -> dict[str, np.ndarray]:
        """Run one batch; returns {output name: array}."""
        names = outputs or self.output_names
        values = self.session.run(names, {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)})
        return dict(zip(names, values, strict=True))

    def warm_up(self) -> None:
        """Run once on zeros so the first real request does not pay for allocation and tuning."""
        self.run(np.zeros(self.input_shape(), np.float32))
