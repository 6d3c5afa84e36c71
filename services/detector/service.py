"""Wires the detector's endpoint: models prepared, loaded and warmed before it is registered.

Two sets of sessions where the cores allow (shared/threads.py): the worker threads' share of the
cores each (`onnx_intra`), and every core (`onnx_intra_alone`) for a detection that finds no
other one running in this process while the machine is otherwise idle (`IdleCores`: at least
the extra threads' cores were idle over the last moment), so that a lone photo's detection
uses both cores of an idle 2-core machine instead of one (issue #23). Not when the machine is
busy: there the threads wait for each other, and on the shared 2-core machine (load average
7-10) taking every core for each lone detection made Search slower, p50 69-73 ms against 57,
22-25 requests/s against 29.6 with 4 in flight (benchmarks/search.py, 2026-12-06 11:10 UTC).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from services.detector.bodies_service import setup_bodies
from services.detector.engine import Detector
from shared import blobs, threads
from shared.errors import ValidationFailed
from shared.image_limits import opencv_capped
from shared.messages.faces import DetectRequest, DetectResponse
from shared.modelpack import ensure_models
from shared.runtime import ServiceContext
from shared.subjects import DETECTOR_DETECT

IDLE_WINDOW_S = 0.2  # the moment over which the machine's idle cores are counted


def cpu_times(stat: str = "/proc/stat") -> tuple[float, float] | None:
    """(idle, total) jiffies of the whole machine since boot, summed over its CPUs; None where
    there is no /proc/stat."""
    try:
        with open(stat, encoding="ascii") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    if len(fields) < 5:
        return None
    return fields[3] + fields[4], sum(fields[:8])  # idle + iowait; user .. steal


class IdleCores:
    """How many of the machine's cores were idle over the last IDLE_WINDOW_S or so (read from
    /proc/stat at most that often; 0 until two readings, and where it cannot be read)."""

    def __init__(
        self,
        cores: int | None = None,
        read: Callable[[], tuple[float, float] | None] = cpu_times,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cores = cores or os.cpu_count() or 1
        self.read = read
        self.clock = clock
        self.last = read()
        self.last_at = clock()
        self.idle = 0.0

    def __call__(self) -> float:
        now = self.clock()
        if now - self.last_at >= IDLE_WINDOW_S:
            current = self.read()
            if current is not None and self.last is not None and current[1] > self.last[1]:
                self.idle = self.cores * (current[0] - self.last[0]) / (current[1] - self.last[1])
            self.last, self.last_at = current, now
        return self.idle


class LoneOrShared:
    """Which detector a request runs on: `alone` (every core) when no other detection is running
    in this process and `idle()` counts at least `spare` idle cores on the machine, else `shared`
    (its share of the cores). Used from the event loop only."""

    def __init__(
        self, shared: Detector, alone: Detector | None, idle: Callable[[], float] = lambda: 0.0, spare: float = 1.0
    ) -> None:
        self.shared = shared
        self.alone = alone
        self.idle = idle
        self.spare = spare
        self.running = 0
        self.lone_runs = 0  # how many requests ran alone ($SRV.STATS)

    @contextmanager
    def choose(self) -> Iterator[Detector]:
        lone = self.alone is not None and self.running == 0 and self.idle() >= self.spare
        chosen = self.alone if lone and self.alone is not None else self.shared  # (None: for mypy)
        if lone:
            self.lone_runs += 1
        self.running += 1
        try:
            yield chosen
        finally:
            self.running -= 1


async def setup(ctx: ServiceContext) -> None:
    settings = ctx.settings
    if not opencv_capped():  # uploads are decoded here: without the cap, a crafted header could take GBs
        raise RuntimeError("OpenCV was loaded before its pixel cap was set (shared/image_limits.py)")
    directory = await ctx.run_blocking(ensure_models, settings)
    plan = threads.plan(settings.worker_threads, settings.cpu_cores)
    device = settings.execution_provider

    def load(count: int) -> Detector:
        detector = Detector(directory, device=device, threads=count)
        detector.warm_up()
        return detector

    detector = await ctx.run_blocking(load, plan.onnx_intra)
    alone = None
    if device == "cpu" and plan.onnx_intra_alone > plan.onnx_intra:
        alone = await ctx.run_blocking(load, plan.onnx_intra_alone)
        alone.retinaface.alone = alone.facemesh.alone = True  # /metrics: onnx_intra_alone
    # The lone detection's extra threads need cores nobody else uses (a core each, less a little).
    spare = 0.9 * (plan.onnx_intra_alone - plan.onnx_intra)
    chooser = LoneOrShared(detector, alone, IdleCores(), spare)
    ctx.extra_stats["model"] = lambda: detector.name
    ctx.extra_stats["providers"] = lambda: detector.retinaface.providers
    ctx.extra_stats["lone_detections"] = lambda: chooser.lone_runs

    async def detect(request: DetectRequest) -> DetectResponse:
        image = await blobs.unwrap(ctx.bus, request.image)
        config, crops, regions, faces = (
            request.face_detector_config, request.include_crops, request.regions, request.region_face_sizes
        )  # fmt: skip
        if faces and len(faces) != len(regions):
            raise ValidationFailed("region_face_sizes must give one face size per region, or none")
        with chooser.choose() as chosen:
            return await ctx.run_blocking(
                partial(chosen.detect, image, config, include_crops=crops, regions=regions, region_face_sizes=faces)
            )

    await ctx.host.add(DETECTOR_DETECT, DetectRequest, detect)
    await setup_bodies(ctx, directory)  # pedestrians and objects (POST /api/v1/Detect, cameras)
