"""Wires the detector's endpoint: models prepared, loaded and warmed before it is registered."""

from __future__ import annotations

from functools import partial

from services.detector.bodies_service import setup_bodies
from services.detector.engine import Detector
from shared import blobs
from shared.image_limits import opencv_capped
from shared.inference import intra_op_threads
from shared.messages.faces import DetectRequest, DetectResponse
from shared.modelpack import ensure_models
from shared.runtime import ServiceContext
from shared.subjects import DETECTOR_DETECT


async def setup(ctx: ServiceContext) -> None:
    settings = ctx.settings
    if not opencv_capped():  # uploads are decoded here: without the cap, a crafted header could take GBs
        raise RuntimeError("OpenCV was loaded before its pixel cap was set (shared/image_limits.py)")
    directory = await ctx.run_blocking(ensure_models, settings)
    threads = intra_op_threads(settings.worker_threads)
    detector = await ctx.run_blocking(partial(Detector, directory, device=settings.execution_provider, threads=threads))
    await ctx.run_blocking(detector.warm_up)
    ctx.extra_stats["model"] = lambda: detector.name
    ctx.extra_stats["providers"] = lambda: detector.retinaface.providers

    async def detect(request: DetectRequest) -> DetectResponse:
        image = await blobs.unwrap(ctx.bus, request.image)
        config, crops, regions = request.face_detector_config, request.include_crops, request.regions
        return await ctx.run_blocking(partial(detector.detect, image, config, include_crops=crops, regions=regions))

    await ctx.host.add(DETECTOR_DETECT, DetectRequest, detect)
    await setup_bodies(ctx, directory)  # pedestrians and objects (POST /api/v1/Detect, cameras)
