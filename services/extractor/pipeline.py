"""Detection and extraction in one process, one call: for tests, benchmarks and tools.

The services chain the same two steps over NATS (detector, then extractor: shared.analysis);
this runs them directly, through the same JPEG crops and the same extractor request, and
answers the same `Analysis`, so what it measures is what the services answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from services.detector.engine import DEFAULT_CONFIG, Detector
from services.extractor.engine import Extractor
from shared.analysis import Analysis, Wanted, combine, extraction
from shared.inference import Device
from shared.messages.faces import Box, FaceDetectorConfig, FaceFeaturesConfig
from shared.modelpack import ensure_models
from shared.settings import Settings


class FacePipeline:
    def __init__(self, models_dir: Path, *, device: Device = "cpu", threads: int = 1) -> None:
        self.detector = Detector(models_dir, device=device, threads=threads)
        self.extractor = Extractor(models_dir, device=device, threads=threads)

    @classmethod
    def from_settings(cls, settings: Settings, threads: int = 1) -> FacePipeline:
        """Prepare the model cache if needed and load every model."""
        return cls(ensure_models(settings), device=settings.execution_provider, threads=threads)

    def warm_up(self) -> None:
        self.detector.warm_up()
        self.extractor.warm_up()

    def analyse(
        self,
        image: bytes,
        detector_config: FaceDetectorConfig = DEFAULT_CONFIG,
        features: FaceFeaturesConfig | None = None,
        wanted: Wanted | None = None,
        regions: Sequence[Box] = (),
        region_face_sizes: Sequence[float] = (),
    ) -> Analysis:
        """Every face of `image` (largest first) with its extracted features (those `wanted`,
        default all), only in `regions` when given, as shared.analysis.analyse answers over the
        bus."""
        detected = self.detector.detect(image, detector_config, regions=regions, region_face_sizes=region_face_sizes)
        chosen, request = extraction(detected, features or FaceFeaturesConfig(), wanted)
        return combine(detected, chosen, self.extractor.extract(request) if request is not None else None)
