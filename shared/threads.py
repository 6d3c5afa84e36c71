"""Every process's thread pools, decided in one place from the cores it is given.

The cores: FACEGATE_CPU_CORES where set (a container's CPU limit, which the affinity mask does
not show), else the CPUs this process may run on (`os.sched_getaffinity`). From them and
FACEGATE_WORKER_THREADS (requests a process computes at once, default 2):

- onnxruntime: intra-op threads = cores // worker threads (at least 1), inter-op 1 (our graphs
  are chains: nothing to run side by side). Each request gets its share of the cores instead of
  every request spreading over all of them. benchmarks/threads.py, detector and extractor on a
  640x480 photo, 2 cores (2026-12-06, the machine shared: load average 13-15): 1 intra-op thread
  166 ms a photo alone, 5.5 photos/s two at once; 2 threads 707 ms alone, 2.1 photos/s (threads
  that wait on each other lose most when the cores are busy anyway). On an idle machine 2 threads
  may shorten a lone photo; a server's cores are rarely idle, so the share wins. Most of that
  loss was the pool's threads spinning between runs, which the sessions no longer do
  (shared/inference.py, `session_options`): 2026-12-06 11:38 UTC, load average 6, 1 intra-op
  thread 25.2 ms alone and 34.0 photos/s at two, 2 threads 27.0 ms and 33.0 photos/s (the code
  before, just before: 27.5 ms and 31.6 photos/s, 155.8 ms and 9.4 photos/s).
  Except for a lone photo on an idle machine (issue #23): a detection that finds no other one
  running in its process, while the machine has the cores to spare, runs on sessions with an
  intra-op thread per core (`onnx_intra_alone`; services/detector/service.py says when). The
  640x480 photo's detection alone, 1 against 2 threads, alternating
  in one process (2026-12-06 11:04 UTC, the machine shared, load average 5-7): spinning off,
  CPU 12.3-13.2 against 13.6-16.4 ms, wall median 11.9-20.5 against 12.5-18.6 ms (2 threads
  shorter in 3 runs of 4); spinning on, CPU 13.1 against 41.4 ms and wall 21.0 against 59.6 ms.
- BLAS (OpenBLAS, MKL, OpenMP): 1 thread. The only BLAS work is the matcher's exact search (one
  matrix product per query) and small normalisations. With a thread per core OpenBLAS leaves a
  worker spinning after every exact query (issue #23: about 100 ms of CPU per query over 5k
  templates or more). benchmarks/threads.py, one query against 10k templates every 5 ms, same
  run: 1 thread 0.51 ms and 0.63 ms of CPU per query; 2 threads 25.6 ms and 9.7 ms of CPU.
- OpenCV: cores // worker threads, as onnxruntime (its parallel loops cut a photo's resize and
  colour conversion into strips; on a share of the cores, not on all of them per request).
- FFmpeg decoder threads are camera_ingest's own settings, per stream and per video record
  (FACEGATE_CAMERA_DECODER_THREADS, services/camera_ingest/settings.py, where they are measured).

`limit_native_pools` runs before numpy is first imported (services/__init__.py): the BLAS
libraries read their thread count from the environment when they load. `apply` sets the pools
again where they can be set at run time (threadpoolctl, OpenCV's own call): shared/runtime.py
calls it at start and once the service's models are loaded. `effective` reads back what each
pool of this process holds; every worker reports it on /metrics (`facegate_threads`) and in its
`$SRV.STATS` (`threads`), the gateway on its /metrics.

This module imports neither numpy nor OpenCV at import time (it must be importable before them).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

CORES_VARIABLE = "FACEGATE_CPU_CORES"
BLAS_THREADS = 1
# What the BLAS and OpenMP libraries read when they load.
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def available_cores(configured: int | None = None) -> int:
    """`configured` (FACEGATE_CPU_CORES; read from the environment when None) if above 0, else the
    CPUs this process may run on."""
    if configured is None:
        raw = os.environ.get(CORES_VARIABLE, "")
        configured = int(raw) if raw.isdigit() else 0
    if configured > 0:
        return configured
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class ThreadPlan:
    """The thread count of each pool of a process with `cores` and `workers` worker threads."""

    cores: int
    workers: int

    @property
    def share(self) -> int:
        """Cores per worker thread: what one request's native work may use."""
        return max(1, self.cores // max(1, self.workers))

    @property
    def onnx_intra(self) -> int:
        return self.share

    @property
    def onnx_intra_alone(self) -> int:
        """Intra-op threads of a request that finds its process otherwise idle: every core (the
        detector keeps a second set of sessions for it, services/detector/service.py)."""
        return max(1, self.cores)

    @property
    def onnx_inter(self) -> int:
        return 1

    @property
    def opencv(self) -> int:
        return self.share

    @property
    def blas(self) -> int:
        return BLAS_THREADS


def plan(workers: int, cores: int | None = None) -> ThreadPlan:
    """The plan for a process with `workers` worker threads (FACEGATE_WORKER_THREADS)."""
    return ThreadPlan(available_cores(cores), workers)


def limit_native_pools() -> None:
    """Before numpy (and so OpenBLAS) is loaded: one BLAS/OpenMP thread."""
    for name in BLAS_VARIABLES:
        os.environ[name] = str(BLAS_THREADS)


def apply(chosen: ThreadPlan) -> None:
    """Set the pools that can be set at run time: BLAS and OpenMP through threadpoolctl (for a
    process that loaded numpy before `limit_native_pools`), OpenCV where it is loaded."""
    limit_native_pools()
    from threadpoolctl import threadpool_limits  # imports no numpy; looks at loaded libraries

    threadpool_limits(limits=chosen.blas, user_api="blas")
    threadpool_limits(limits=chosen.blas, user_api="openmp")
    cv2 = sys.modules.get("cv2")
    if cv2 is not None:
        cv2.setNumThreads(chosen.opencv)


def effective(workers: int | None = None) -> dict[str, int]:
    """What each pool of this process holds now: `cores`, `workers` (when given), `blas` and
    `openmp` (the largest of the loaded libraries), `opencv` (where loaded), `onnx_intra` and
    `onnx_inter` (the largest of the live onnxruntime sessions, where there are any), and
    `onnx_intra_alone` where a lone request has sessions of its own (the detector's)."""
    from threadpoolctl import threadpool_info

    found: dict[str, int] = {"cores": available_cores()}
    if workers is not None:
        found["workers"] = workers
    for library in threadpool_info():
        api = str(library.get("user_api"))
        if api in ("blas", "openmp"):
            found[api] = max(found.get(api, 0), int(library.get("num_threads") or 0))
    cv2 = sys.modules.get("cv2")
    if cv2 is not None:
        found["opencv"] = int(cv2.getNumThreads())
    inference = sys.modules.get("shared.inference")
    if inference is not None:
        found.update(inference.session_threads())
    return found


def metrics_text(service: str, workers: int | None = None) -> str:
    """`effective` as Prometheus gauges."""
    lines = [
        "# HELP facegate_threads Threads each pool of this process may use (shared/threads.py).",
        "# TYPE facegate_threads gauge",
    ]
    for pool, count in sorted(effective(workers).items()):
        lines.append(f'facegate_threads{{service="{service}",pool="{pool}"}} {count}')
    return "\n".join(lines) + "\n"
