"""The extractor's domain: aligned crops -> templates, age, gender, mask, liveness.

`Extractor.extract` is blocking and thread-safe; each model runs once per request on all of
the request's faces (one batch: the template model's mirrored pass is in the same batch as the
first), and only the models the request's features need run (none, and the crops are not even
decoded, when it asks nothing of them).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from services.extractor.models import AgeGender, Liveness, Recognizer, Scored
from shared.analysis import extractor_needed, nothing_extracted
from shared.errors import ValidationFailed
from shared.imaging import decode_crop
from shared.inference import Device
from shared.messages.faces import ExtractedFace, ExtractRequest, ExtractResponse
from shared.modelpack import model_path

MAX_CROPS = 100
RECOGNITION_MODEL = "faceapi-resnet"
TEMPLATE_DIMENSION = 128


class Extractor:
    """All extraction models, loaded once."""

    def __init__(self, models_dir: Path, *, device: Device = "cpu", threads: int = 1, side_threads: int = 1) -> None:
        """`side_threads`: threads that run the age/gender model beside the template model of the
        same request (independent models: a lone request's extraction takes 14 ms instead of 24
        on two cores). Give it as many as the callers' threads, so requests never queue for it."""

        def path(name: str) -> tuple[Path, str]:
            return model_path(models_dir, name)

        rec_path, self.template_model = path(RECOGNITION_MODEL)
        self.recognizer = Recognizer(rec_path, device=device, threads=threads)
        self.age_gender = AgeGender(path("faceres")[0], device=device, threads=threads)
        self.nearby = Liveness(
            path("antispoof")[0], size=128, padding=0.15, what="nearby", device=device, threads=threads
        )
        self.distant = Liveness(
            path("liveness")[0], size=32, padding=0.35, what="distant", device=device, threads=threads
        )
        self._side = ThreadPoolExecutor(max(1, side_threads), thread_name_prefix="extractor-side")

    def warm_up(self) -> None:
        """One real-shaped batch through every model (allocations, kernel choice)."""
        chip = np.full((224, 224, 3), 128, np.uint8)
        self.recognizer.templates([chip])
        self.age_gender.predict([chip])
        self.nearby.scores([chip])
        self.distant.scores([chip])

    def extract(self, request: ExtractRequest) -> ExtractResponse:
        if len(request.crops) > MAX_CROPS:
            raise ValidationFailed(f"At most {MAX_CROPS} faces per request; got {len(request.crops)}.")
        if request.geometry and len(request.geometry) != len(request.crops):
            raise ValidationFailed(f"{len(request.geometry)} geometries for {len(request.crops)} crops.")
        if not extractor_needed(request.face_features_config):
            return nothing_extracted(request)  # nothing asked that a model here computes: no decoding
        chips = [decode_crop(c) for c in request.crops]
        return ExtractResponse(faces=self.extract_chips(chips, request))

    def extract_chips(self, chips: list[np.ndarray], request: ExtractRequest) -> list[ExtractedFace]:
        """Features of decoded chips (the in-process path skips the JPEG round trip's decode)."""
        if not chips:
            return []
        cfg = request.face_features_config
        n = len(chips)
        ages_later: Future[list[tuple[float, float]]] | None = None
        if cfg.age or cfg.gender:
            ages_later = self._side.submit(self.age_gender.predict, chips)
        templates = self.recognizer.templates(chips) if cfg.template else None
        ages: list[tuple[float | None, float | None]] = [(None, None)] * n
        if ages_later is not None:
            ages = list(ages_later.result())
        geometry = request.geometry or None
        unasked: list[Scored] = [(None, None)] * n
        nearby = self.nearby.scores(chips, geometry) if cfg.nearby_liveness else unasked
        distant = self.distant.scores(chips, geometry) if cfg.distant_liveness else unasked
        faces = []
        for i in range(n):
            age, male = ages[i]
            faces.append(
                ExtractedFace(
                    # Little-endian float32 on every host: templates are stored and compared as such.
                    template=templates[i].astype("<f4").tobytes() if templates is not None else None,
                    template_model=self.template_model if templates is not None else "",
                    age=age if cfg.age else None,
                    gender=None if male is None or not cfg.gender else ("Male" if male > 0.5 else "Female"),
                    gender_confidence=None if male is None or not cfg.gender else round(10000 * max(male, 1 - male)),
                    # No mask model ships in the registry packages: status stays Unknown.
                    face_mask_status="Unknown",
                    nearby_liveness=nearby[i][0],
                    distant_liveness=distant[i][0],
                    nearby_liveness_reason=nearby[i][1],
                    distant_liveness_reason=distant[i][1],
                )
            )
        return faces
