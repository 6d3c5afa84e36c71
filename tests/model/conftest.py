"""One pipeline and one pass over every photo per test session (keeps the model tests short)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from services.extractor.pipeline import FacePipeline
from shared.analysis import Analysed
from shared.messages.faces import FaceDetectorConfig, FaceFeaturesConfig
from shared.settings import Settings
from tests.support import FACES, REPO

# Photos come at every size: accept any face size (the default 600 is a camera setting).
ANY_SIZE = FaceDetectorConfig(min_face_size=20, max_face_size=100_000)
ALL_FEATURES = FaceFeaturesConfig(distant_liveness=True, nearby_liveness=True)

Faces = dict[str, list[Analysed]]


def models_settings() -> Settings:
    return Settings(models_dir=os.environ.get("FACEGATE_MODELS_DIR", str(REPO / "var" / "models")))


@pytest.fixture(scope="session")
def pipeline() -> FacePipeline:
    if not (FACES / "photos").is_dir():
        pytest.skip(f"no photos at {FACES}")
    loaded = FacePipeline.from_settings(models_settings(), threads=2)
    loaded.warm_up()
    return loaded


@pytest.fixture(scope="session")
def faces(pipeline: FacePipeline) -> Iterator[Faces]:
    """Every photo of the faces folder, analysed once."""
    yield {
        p.name: pipeline.analyse(p.read_bytes(), ANY_SIZE, ALL_FEATURES).faces
        for p in sorted((FACES / "photos").iterdir())
    }
