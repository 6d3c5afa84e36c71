"""What a REST request asks of the detector and the extractor: its faceDetectorConfig and
faceFeaturesConfig (camelCase DTOs) as the workers' configs, with the edge's defaults for photos."""

from __future__ import annotations

import msgspec

from shared.messages import faces as wire
from shared.messages.identification import FaceDetectorConfig, FaceFeaturesConfig, FaceSearchDetectorConfig
from shared.messages.setup import FeaturesConfig

PHOTO_MAX_FACE_SIZE = 100_000

NO_FEATURES = FaceFeaturesConfig(**{f: False for f in FaceFeaturesConfig.__struct_fields__})


def detector_config(
    config: FaceDetectorConfig | FaceSearchDetectorConfig | None, max_faces: int | None = None
) -> wire.FaceDetectorConfig:
    """The detector's config for a photo; `max_faces` caps it (1 where only the largest counts)."""
    # SmartFace's maxFaceSize default (600 px) suits cameras; a photo sent without any
    # faceDetectorConfig often holds a larger face, so then no upper bound applies.
    fields = msgspec.structs.asdict(config) if config is not None else {"max_face_size": PHOTO_MAX_FACE_SIZE}
    if max_faces is not None:
        fields["max_faces"] = max_faces
    return wire.FaceDetectorConfig(**fields)


def allowed(asked: FaceFeaturesConfig | None, setup: FeaturesConfig) -> FaceFeaturesConfig:
    """The attributes a request asks for (all when None) that the Setup's Features leave on: one
    switched off there is neither computed nor answered."""
    mine = msgspec.structs.asdict(asked or FaceFeaturesConfig())
    switches = msgspec.structs.asdict(setup)
    return FaceFeaturesConfig(**{name: on and switches[name] for name, on in mine.items()})


def features_config(
    features: FaceFeaturesConfig | None,
    *,
    template: bool,
    distant: bool = False,
    nearby: bool = False,
    mask_threshold: float = 3000,
) -> wire.FaceFeaturesConfig:
    """The extractor's config: the attributes asked for (all when None), plus a template and the
    liveness checks the verb needs."""
    f = features or FaceFeaturesConfig()
    return wire.FaceFeaturesConfig(
        age=f.age, gender=f.gender, face_mask=f.face_mask, yaw_angle=f.yaw_angle, pitch_angle=f.pitch_angle,
        roll_angle=f.roll_angle, sharpness=f.sharpness, brightness=f.brightness, template=template,
        distant_liveness=distant, nearby_liveness=nearby, face_mask_threshold=int(mask_threshold),
    )  # fmt: skip


def split_model(template_model: str) -> tuple[str, str]:
    """ "faceapi-resnet@1.0" -> ("faceapi-resnet", "1.0")."""
    name, _, version = template_model.partition("@")
    return name, version
