"""Detection and extraction in one process, one call: for tests, benchmarks and tools.

The services chain the same two steps over NATS (detector, then extractor); this runs them
directly, through the same JPEG crops, so what it measures is what the services answer.
"""

from __future__ import annotations

from pathlib import Path

from services.detector.engine import DEFAULT_CONFIG, Detector
from services.extractor.engine import Extractor
from shared.inference import Device
from shared.messages.faces import (
    DetectedFace,
    ExtractedFace,
    ExtractRequest,
    FaceDetectorConfig,
    FaceFeaturesConfig,
    crop_geometry,
)
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
    ) -> list[tuple[DetectedFace, ExtractedFace]]:
        """Every face of `image` (largest first) with its extracted features."""
        detected = self.detector.detect(image, detector_config)
        request = ExtractRequest(
            crops=[f.crop for f in detected.faces],
            face_features_config=features or FaceFeaturesConfig(),
            geometry=crop_geometry(detected.faces),
        )
        extracted = self.extractor.extract(request)
        return list(zip(detected.faces, extracted.faces, strict=True))
