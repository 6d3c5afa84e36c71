"""One base class for every onnxruntime model: load once, warm up, predict.

Execution providers: the setting names a preference ('cpu', 'cuda' or 'gpu'); we use CUDA only
when the installed onnxruntime build offers it (onnxruntime-gpu), else CPU, so the same image
and settings run on both kinds of host. Sessions are created once per process and shared by the
worker threads (onnxruntime's `run` is thread-safe); the intra-op thread count is a setting
because replicas on one host should not each grab every core: shared/threads.py decides it
from the cores the process is given. On the CPU each model is loaded through
shared/onnx_rewrites.py: the same outputs, bit for bit, from cheaper kernels.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from shared import onnx_rewrites
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


def session_threads(models: Iterable[OnnxModel] | None = None) -> dict[str, int]:
    """The largest intra-op and inter-op thread counts of the live sessions (none: {}); those
    kept for a lone request (`OnnxModel.alone`: the detector's, shared/threads.py) apart, as
    `onnx_intra_alone`. `models`: these sessions only (default: every live one)."""
    found: dict[str, int] = {}
    for model in list(_SESSIONS if models is None else models):
        options = model.session.get_session_options()
        intra = "onnx_intra_alone" if model.alone else "onnx_intra"
        found[intra] = max(found.get(intra, 0), options.intra_op_num_threads)
        found["onnx_inter"] = max(found.get("onnx_inter", 0), options.inter_op_num_threads)
    return found


class OnnxModel:
    """An onnxruntime session with named inputs/outputs and a warm-up.

    Subclasses add pre- and post-processing; `run` stays the only place that calls onnxruntime.
    """

    def __init__(self, path: Path, *, device: Device = "cpu", threads: int = 1) -> None:
        self.path = path
        self.alone = False  # a session for a lone request (session_threads reports it apart)
        providers = choose_providers(device)
        self.rewrites: dict[str, int] = {}
        source = path.read_bytes()  # read once: onnx and onnxruntime both take the bytes
        if providers == ["CPUExecutionProvider"]:
            # Same outputs bit for bit, cheaper CPU kernels (shared/onnx_rewrites.py).
            model = onnx.load_from_string(source)
            self.rewrites = onnx_rewrites.rewrite(model)
            if any(self.rewrites.values()):
                source = model.SerializeToString()
        self.session = ort.InferenceSession(source, session_options(threads), providers=providers)
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
