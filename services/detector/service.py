"""Wires the detector's endpoint: models prepared, loaded and warmed before it is registered.

Two sets of sessions where the cores allow (shared/threads.py): the worker threads' share of the
cores each (`onnx_intra`), and every core (`onnx_intra_alone`) for a detection that finds no
other one running in this process, so that a lone photo's detection uses both cores of an
otherwise idle 2-core machine instead of one (issue #23).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from services.detector.bodies_service import setup_bodies
from services.detector.engine import Detector
from shared import blobs, threads
from shared.image_limits import opencv_capped
from shared.messages.faces import DetectRequest, DetectResponse
from shared.modelpack import ensure_models
from shared.runtime import ServiceContext
from shared.subjects import DETECTOR_DETECT


class LoneOrShared:
    """Which detector a request runs on: `alone` (every core) when no other detection is running
    in this process, else `shared` (its share of the cores). Used from the event loop only."""

    def __init__(self, shared: Detector, alone: Detector | None) -> None:
        self.shared = shared
        self.alone = alone
        self.running = 0
        self.lone_runs = 0  # how many requests ran alone ($SRV.STATS)

    @contextmanager
    def choose(self) -> Iterator[Detector]:
        chosen = self.alone if self.alone is not None and self.running == 0 else self.shared
        if chosen is not self.shared:
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
    chooser = LoneOrShared(detector, alone)
    ctx.extra_stats["model"] = lambda: detector.name
    ctx.extra_stats["providers"] = lambda: detector.retinaface.providers
    ctx.extra_stats["lone_detections"] = lambda: chooser.lone_runs

    async def detect(request: DetectRequest) -> DetectResponse:
        image = await blobs.unwrap(ctx.bus, request.image)
        config, crops, regions = request.face_detector_config, request.include_crops, request.regions
        with chooser.choose() as chosen:
            return await ctx.run_blocking(partial(chosen.detect, image, config, include_crops=crops, regions=regions))

    await ctx.host.add(DETECTOR_DETECT, DetectRequest, detect)
    await setup_bodies(ctx, directory)  # pedestrians and objects (POST /api/v1/Detect, cameras)
