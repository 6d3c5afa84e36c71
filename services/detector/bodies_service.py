"""The detector's pedestrians-and-objects endpoint (rpc.detector.bodies.detect), beside faces."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from services.detector.bodies import BodyDetector
from shared import blobs
from shared.imaging import decode_image
from shared.inference import intra_op_threads
from shared.messages.bodies import BodiesRequest, BodiesResponse
from shared.runtime import ServiceContext
from shared.subjects import DETECTOR_BODIES


async def setup_bodies(ctx: ServiceContext, directory: Path) -> None:
    settings = ctx.settings
    threads = intra_op_threads(settings.worker_threads)
    detector = await ctx.run_blocking(
        partial(BodyDetector, directory, device=settings.execution_provider, threads=threads)
    )
    await ctx.run_blocking(detector.warm_up)
    ctx.extra_stats["bodies_model"] = lambda: detector.name

    def run(image: bytes, request: BodiesRequest) -> BodiesResponse:
        return detector.detect_rgb(
            decode_image(image), request.pedestrians, request.objects, include_crops=request.include_crops
        )

    async def detect(request: BodiesRequest) -> BodiesResponse:
        image = await blobs.unwrap(ctx.bus, request.image)
        return await ctx.run_blocking(partial(run, image, request))

    await ctx.host.add(DETECTOR_BODIES, BodiesRequest, detect)
