"""Wires the extractor's endpoint: models prepared, loaded and warmed before it is registered."""

from __future__ import annotations

from functools import partial

from services.extractor.engine import TEMPLATE_DIMENSION, Extractor
from shared.bus import Empty
from shared.inference import intra_op_threads
from shared.messages.faces import ExtractRequest, ExtractResponse, ModelInfo
from shared.modelpack import ensure_models
from shared.runtime import ServiceContext
from shared.subjects import EXTRACTOR_EXTRACT, EXTRACTOR_MODEL


async def setup(ctx: ServiceContext) -> None:
    settings = ctx.settings
    directory = await ctx.run_blocking(ensure_models, settings)
    threads = intra_op_threads(settings.worker_threads)
    extractor = await ctx.run_blocking(
        partial(
            Extractor,
            directory,
            device=settings.execution_provider,
            threads=threads,
            side_threads=settings.worker_threads,
        )
    )
    await ctx.run_blocking(extractor.warm_up)
    ctx.extra_stats["template_model"] = lambda: extractor.template_model
    ctx.extra_stats["providers"] = lambda: extractor.recognizer.providers

    async def extract(request: ExtractRequest) -> ExtractResponse:
        return await ctx.run_blocking(extractor.extract, request)

    info = ModelInfo(
        template_model=extractor.template_model,
        template_dimension=TEMPLATE_DIMENSION,
        providers=extractor.recognizer.providers,
    )

    async def model_info(_: Empty) -> ModelInfo:
        return info

    await ctx.host.add(EXTRACTOR_EXTRACT, ExtractRequest, extract)
    await ctx.host.add(EXTRACTOR_MODEL, Empty, model_info)
