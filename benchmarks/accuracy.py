"""Recognition accuracy on ../shared/faces through the services' own path (detector crops as
JPEG, extractor templates), on the photos as they are and on harder versions of them.

    .venv/bin/python benchmarks/accuracy.py [--candidates] [--no-conditions]

Prints TAR at FAR 1e-2 and 1e-3 over pairs.csv (the threshold is the similarity of the
k-th most similar different-person pair, so with 262 of them FAR 1e-3 means "above every
one"), rank-1 over identities.csv (each photo against all the others), and the FAR of the
score threshold 40. `--candidates` also scores the other recognition models of the packages
(converted on the fly into a temporary directory). The last line is always:
`accuracy: TAR@FAR1e-2 A, TAR@FAR1e-3 B, rank-1 R, threshold40 FAR F` for the shipped model.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort

from services.extractor.pipeline import FacePipeline
from shared.face_choice import best_first
from shared.imaging import chip_to_chip, decode_crop
from shared.messages.faces import FaceDetectorConfig, FaceFeaturesConfig
from shared.modelpack import tfjs_onnx
from shared.modelpack.catalog import HUMAN_MODELS
from shared.modelpack.prepare import npm_prefix
from shared.modelpack.sources import package_dir
from shared.scores import score_from_similarity
from shared.settings import load_settings

FACES = Path(__file__).resolve().parents[2] / "shared" / "faces"
ANY_SIZE = FaceDetectorConfig(min_face_size=10, max_face_size=100_000)
TEMPLATE_ONLY = FaceFeaturesConfig(age=False, gender=False)
ARCFACE_112 = np.array([[38.29, 51.70], [73.53, 51.50], [56.03, 71.74], [41.55, 92.37], [70.73, 92.20]], np.float32)


def rows(name: str) -> list[dict[str, str]]:
    with (FACES / name).open(newline="") as f:
        return list(csv.DictReader(f))


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    return np.asarray(cv2.imdecode(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], 1))


CONDITIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "as is": lambda img: img,
    "small (longer side 320 px)": lambda img: cv2.resize(
        img, None, fx=320 / max(img.shape[:2]), fy=320 / max(img.shape[:2]), interpolation=cv2.INTER_AREA
    ),
    "JPEG quality 15": lambda img: _jpeg(img, 15),
    "blur (sigma 1% of side)": lambda img: cv2.GaussianBlur(img, (0, 0), max(img.shape[:2]) / 100),
    "dark (x0.3)": lambda img: (img.astype(np.float32) * 0.3).astype(np.uint8),
    "rotated 20 degrees": lambda img: cv2.warpAffine(
        img, cv2.getRotationMatrix2D((img.shape[1] / 2, img.shape[0] / 2), 20, 1.0), (img.shape[1], img.shape[0])
    ),
}


def largest_faces(pipe: FacePipeline, transform: Callable[[np.ndarray], np.ndarray]) -> dict[str, bytes | None]:
    """The crop of the face Verify takes (the one-face rule's) in every photo, after `transform`
    (None: no face found)."""
    out: dict[str, bytes | None] = {}
    for path in sorted((FACES / "photos").iterdir()):
        img = transform(np.asarray(cv2.imread(str(path))))
        buf = cv2.imencode(".png", img)[1]
        faces = pipe.detector.detect(bytes(buf), ANY_SIZE).faces
        out[path.name] = best_first(faces)[0].crop if faces else None
    return out


def evaluate(templates: dict[str, np.ndarray | None]) -> tuple[float, float, float, float, int]:
    """TAR@1e-2, TAR@1e-3, rank-1, FAR at score 40, photos without a face. A photo without a
    face rejects its genuine pairs and accepts no impostor."""
    same: list[float] = []
    different: list[float] = []
    for r in rows("pairs.csv"):
        a, b = templates[r["file_x"]], templates[r["file_y"]]
        sim = float(a @ b) if a is not None and b is not None else -1.0
        (same if r["Decision"] == "Yes" else different).append(sim)
    pos, neg = np.array(same), np.sort(different)[::-1]
    tar2 = float((pos > neg[int(len(neg) * 1e-2)]).mean())
    tar3 = float((pos > neg[int(len(neg) * 1e-3)]).mean())
    far40 = float(np.mean([score_from_similarity(s) >= 40 for s in different]))
    ids = rows("identities.csv")
    hits = 0
    for r in ids:
        probe = templates[r["photo"]]
        if probe is None:
            continue
        others = [
            (float(probe @ t), o["identity"])
            for o in ids
            if o["photo"] != r["photo"] and (t := templates[o["photo"]]) is not None
        ]
        hits += bool(others) and max(others)[1] == r["identity"]
    missing = sum(t is None for t in templates.values())
    return tar2, tar3, hits / len(ids), far40, missing


def shipped_templates(pipe: FacePipeline, crops: dict[str, bytes | None]) -> dict[str, np.ndarray | None]:
    from shared.messages.faces import ExtractRequest

    out: dict[str, np.ndarray | None] = {}
    for name, crop in crops.items():
        if crop is None:
            out[name] = None
            continue
        face = pipe.extractor.extract(ExtractRequest(crops=[crop], face_features_config=TEMPLATE_ONLY)).faces[0]
        out[name] = np.frombuffer(face.template or b"", np.float32)
    return out


def candidate_templates(models_dir: Path, crops: dict[str, bytes | None]) -> dict[str, dict[str, np.ndarray | None]]:
    """Other recognition nets of human-models, converted now, fed as vladmandic/human feeds them."""
    specs = {
        "mobilefacenet (human-models)": (
            "mobilefacenet",
            "embeddings",
            lambda c: chip_to_chip(c, 112, 0, reference=ARCFACE_112) / 255.0,
        ),
        "faceres-deep descriptor (human-models)": (
            "faceres-deep",
            "global_pooling/Mean",
            lambda c: chip_to_chip(c, 224, 0.35) * 1.0,
        ),
    }
    root = package_dir(npm_prefix(models_dir), HUMAN_MODELS) / "models"
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, (file, output, prep) in specs.items():
            path = Path(tmp) / f"{file}.onnx"
            onnx.save(tfjs_onnx.convert(root / f"{file}.json"), str(path))
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            inp = session.get_inputs()[0].name
            templates: dict[str, np.ndarray | None] = {}
            for name, crop in crops.items():
                if crop is None:
                    templates[name] = None
                    continue
                vec = session.run([output], {inp: prep(decode_crop(crop)).astype(np.float32)[None]})[0][0]
                templates[name] = vec / np.linalg.norm(vec)
            result[label] = templates
    return result


def line(label: str, r: tuple[float, float, float, float, int]) -> str:
    tar2, tar3, rank1, far40, missing = r
    figures = f"TAR@FAR1e-2 {tar2:.3f}  TAR@FAR1e-3 {tar3:.3f}  rank-1 {rank1:.3f}  FAR@40 {far40:.4f}"
    return f"{label:42s} {figures}  no face {missing}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", action="store_true", help="also score the other recognition models")
    parser.add_argument("--no-conditions", action="store_true", help="only the photos as they are")
    args = parser.parse_args()
    pipe = FacePipeline.from_settings(load_settings(), threads=2)
    crops = largest_faces(pipe, CONDITIONS["as is"])
    shipped = evaluate(shipped_templates(pipe, crops))
    print(line("faceapi-resnet (shipped), as is", shipped))
    if args.candidates:
        for label, templates in candidate_templates(Path(load_settings().models_dir), crops).items():
            print(line(label, evaluate(templates)))
    if not args.no_conditions:
        for name, transform in list(CONDITIONS.items())[1:]:
            print(line(f"faceapi-resnet, {name}", evaluate(shipped_templates(pipe, largest_faces(pipe, transform)))))
    a, b, r, f, _ = shipped
    print(f"accuracy: TAR@FAR1e-2 {a:.3f}, TAR@FAR1e-3 {b:.3f}, rank-1 {r:.3f}, threshold40 FAR {f:.4f}")


if __name__ == "__main__":
    main()
