"""Grouping quality and speed: tracklets of real faces from ../shared/faces clustered into
individuals (BCubed precision, recall and F1 against the true identities), and the time to
group 10k and 100k synthetic tracklets.

    .venv/bin/python benchmarks/grouping.py [--appearances 6] [--frames 4] [--sizes 10000,100000]

Who is who: identities.csv labels 25 photos (9 people); most other photos show the same or other
people again (the deepface test set holds runs of one person under consecutive numbers:
SAME_PEOPLE, each pair inside a run at cosine 0.93 to 0.98 where different labelled people reach
0.916 at most). The faces of the group photos and the photos left are labelled by their raw
photos: the person of a labelled photo they match at cosine 0.94 or more, else one unknown person
per group of faces that match each other so (a stranger).

The labelled set imitates cameras: every person with two photos or more comes by `--appearances`
times, each time one of their photos seen for `--frames` frames by one of three cameras (each
camera its own face size, light and sharpness; each frame its own jitter: size, position,
rotation, JPEG quality); the others are strangers passing once or twice. A tracklet's template is
the normalised mean of its frames' templates, as camera_ingest makes it; the detector and
extractor are the services' own (in process). Average linkage (what the grouping service runs)
is compared with single linkage (connected components) over the same pairs, at several
thresholds. The scale runs use services/matcher/synthetic.py templates (128-d, 1 to 6 tracklets
per person) with a threshold on their own similarity scale. The last line is
`grouping: F1 <f1> at threshold <t>, <n> tracklets in <s> s`.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from services.extractor.pipeline import FacePipeline
from services.grouping.clustering import candidate_pairs, cluster
from services.matcher.synthetic import gallery
from shared.messages.faces import FaceDetectorConfig, FaceFeaturesConfig
from shared.scores import similarity_floor
from shared.settings import load_settings

FACES = Path(__file__).resolve().parents[2] / "shared" / "faces"
ANY_SIZE = FaceDetectorConfig(min_face_size=10, max_face_size=100_000)
TEMPLATE_ONLY = FaceFeaturesConfig(age=False, gender=False)
GROUP_PHOTOS = ("couple.jpg", "selfie-many-people.jpg")  # each of their faces is one face
LEFT_OUT = {"img11_reflection.jpg"}  # a face and its mirror image: not a camera's view
SAME_PEOPLE = {
    "person01": ["target.jpg"], "person02": ["img57.jpg", "img58.jpg"],
    "person04": ["img59.jpg", "img61.jpg", "img62.jpg"], "person05": ["img54.jpg", "img55.jpg", "img56.jpg"],
    "person08": ["img67.jpg"], "person09": ["img47.jpg", "img48.jpg", "img49.jpg", "img50.jpg", "img51.jpg"],
    "person10": ["img26.jpg", "img27.jpg", "img28.jpg", "img42.jpg", "img43.jpg", "img44.jpg", "img45.jpg",
                 "img46.jpg"],
    "person11": ["img29.jpg", "img30.jpg", "img31.jpg", "img32.jpg", "img33.jpg"],
    "person12": ["img34.jpg", "img35.jpg", "img36.jpg", "img37.jpg"],
    "person13": ["img38.jpg", "img39.jpg", "img40.jpg", "img41.jpg"],
}  # fmt: skip
SAME_FACE = 0.94  # raw photos this alike are one person (different labelled people: 0.916 at most)
# (face size in px, brightness factor, blur sigma) of each camera.
CAMERAS = ((80, 0.7, 0.6), (110, 1.0, 0.0), (150, 1.2, 0.4))
SYNTHETIC_SIMILARITY = 0.45  # synthetic identities: own samples at cosine 0.5-0.8, strangers ~0

Labels = npt.NDArray[np.int64]


def bcubed(labels: Sequence[int], truth: Sequence[str]) -> tuple[float, float, float]:
    """BCubed precision, recall and F1 of a clustering against the true identities."""
    pairs = Counter(zip(labels, truth, strict=True))
    clusters, persons = Counter(labels), Counter(truth)
    precision = float(np.mean([pairs[(c, t)] / clusters[c] for c, t in zip(labels, truth, strict=True)]))
    recall = float(np.mean([pairs[(c, t)] / persons[t] for c, t in zip(labels, truth, strict=True)]))
    return precision, recall, 2 * precision * recall / (precision + recall)


def single_linkage(x: npt.NDArray[np.float32], min_similarity: float) -> Labels:
    """Connected components of the pairs at or above the threshold (the baseline)."""
    parent = list(range(len(x)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    rows, cols = candidate_pairs(x, min_similarity, k=64)
    for a, b in zip(rows.tolist(), cols.tolist(), strict=True):
        parent[root(a)] = root(b)
    _, labels = np.unique([root(i) for i in range(len(x))], return_inverse=True)
    return np.asarray(labels, np.int64)


@dataclass(frozen=True)
class Face:
    """A face of a photo: the region around it (three times its box), its size in px and the
    template of the raw photo."""

    region: np.ndarray
    size: float
    template: npt.NDArray[np.float32]


def faces_of(pipe: FacePipeline, name: str) -> list[Face]:
    """The faces of a photo (the largest only, but for the group photos)."""
    image = np.asarray(cv2.imread(str(FACES / "photos" / name)))
    found = pipe.analyse(bytes(cv2.imencode(".png", image)[1]), ANY_SIZE, TEMPLATE_ONLY).faces
    out = []
    for face in found if name in GROUP_PHOTOS else found[:1]:
        if not face.extracted.template:
            continue
        x0, y0, x1, y1 = face.detected.box
        w, h = x1 - x0, y1 - y0
        region = image[max(0, int(y0 - h)) : int(y1 + h), max(0, int(x0 - w)) : int(x1 + w)]
        out.append(Face(region, max(w, h), np.frombuffer(face.extracted.template, "<f4")))
    return out


def people(pipe: FacePipeline) -> dict[str, list[Face]]:
    """Every face of the photos by person (module docstring: who is who)."""
    with (FACES / "identities.csv").open(newline="") as f:
        owner = {row["photo"]: row["identity"] for row in csv.DictReader(f)}
    owner |= {photo: person for person, photos in SAME_PEOPLE.items() for photo in photos}
    out: dict[str, list[Face]] = {}
    unknown: list[Face] = []
    for path in sorted((FACES / "photos").iterdir()):
        if path.name in LEFT_OUT:
            continue
        for face in faces_of(pipe, path.name):
            (out.setdefault(owner[path.name], []) if path.name in owner else unknown).append(face)
    strangers: list[list[Face]] = []
    for face in unknown:
        known = [p for p, fs in out.items() if any(float(face.template @ f.template) >= SAME_FACE for f in fs)]
        if known:
            out[known[0]].append(face)
            continue
        group = next((g for g in strangers if any(float(face.template @ f.template) >= SAME_FACE for f in g)), None)
        if group is None:
            strangers.append([face])
        else:
            group.append(face)
    out |= {f"stranger{i:02d}": group for i, group in enumerate(strangers)}
    return out


def frame(face: Face, camera: tuple[int, float, float], rng: np.random.Generator) -> bytes:
    """One camera frame of a face: the camera's face size, light and blur, the frame's jitter."""
    side, light, blur = camera
    scale = side * rng.uniform(0.9, 1.1) / face.size
    img = cv2.resize(face.region, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = img.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2 + rng.uniform(-8, 8), h / 2 + rng.uniform(-8, 8)), rng.uniform(-6, 6), 1.0)
    img = cv2.warpAffine(img, turn, (w, h), borderMode=cv2.BORDER_REPLICATE)
    img = np.clip(img.astype(np.float32) * light * rng.uniform(0.9, 1.1), 0, 255).astype(np.uint8)
    if blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    _, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 95))])
    return bytes(buf)


def labelled_tracklets(
    pipe: FacePipeline, appearances: int, frames: int, seed: int
) -> tuple[npt.NDArray[np.float32], list[str]]:
    """(tracklet templates, true identity of each): people coming back, strangers passing."""
    rng = np.random.default_rng(seed)
    visits: list[tuple[str, Face]] = []
    for person, faces in people(pipe).items():
        count = appearances if len(faces) > 1 else int(rng.integers(1, 3))
        visits += [(person, faces[i % len(faces)]) for i in range(count)]
    templates, truth = [], []
    for person, face in visits:
        camera = CAMERAS[int(rng.integers(len(CAMERAS)))]
        found = []
        for _ in range(frames):
            seen = pipe.analyse(frame(face, camera, rng), ANY_SIZE, TEMPLATE_ONLY).faces
            if seen and seen[0].extracted.template:
                found.append(np.frombuffer(seen[0].extracted.template, "<f4"))
        if found:
            mean = np.sum(found, axis=0)
            templates.append((mean / np.linalg.norm(mean)).astype(np.float32))
            truth.append(person)
    return np.stack(templates), truth


def quality(x: npt.NDArray[np.float32], truth: list[str], thresholds: Sequence[int]) -> float:
    """Print average and single linkage at each threshold; F1 of average linkage at 40."""
    persons = len(set(truth))
    at_default = 0.0
    for threshold in thresholds:
        floor = similarity_floor(threshold)
        for name, labels in (("average", cluster(x, floor)), ("single", single_linkage(x, floor))):
            p, r, f1 = bcubed(labels.tolist(), truth)
            print(f"  threshold {threshold:3d} {name:7s} linkage: {len(set(labels.tolist())):4d} individuals "
                  f"for {persons} persons, BCubed P {p:.3f} R {r:.3f} F1 {f1:.3f}")  # fmt: skip
            if name == "average" and threshold == 40:
                at_default = f1
    return at_default


def scale(sizes: Sequence[int], threads: int) -> tuple[int, float]:
    """Print the time to group synthetic tracklets; (largest size, its seconds)."""
    last = (0, 0.0)
    for size in sizes:
        x, owner, _ = gallery(size, 128, seed=size, per_identity=(1, 6))
        started = time.perf_counter()
        labels = cluster(x, SYNTHETIC_SIMILARITY, threads=threads)
        seconds = time.perf_counter() - started
        p, r, f1 = bcubed(labels.tolist(), owner.tolist())
        print(f"  {size:7d} tracklets ({len(set(owner.tolist()))} persons): {seconds:6.1f} s on {threads} threads, "
              f"{len(set(labels.tolist()))} individuals, BCubed P {p:.3f} R {r:.3f} F1 {f1:.3f}")  # fmt: skip
        last = (size, seconds)
    return last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appearances", type=int, default=6, help="visits of each known person")
    parser.add_argument("--frames", type=int, default=4, help="analysed frames per tracklet")
    parser.add_argument("--sizes", default="10000,100000", help="synthetic tracklet counts to time")
    parser.add_argument("--threads", type=int, default=2, help="threads of the neighbour search")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pipe = FacePipeline.from_settings(load_settings(), threads=args.threads)
    started = time.perf_counter()
    x, truth = labelled_tracklets(pipe, args.appearances, args.frames, args.seed)
    strangers = sum(1 for t in set(truth) if t.startswith("stranger"))
    print(f"labelled: {len(x)} tracklets of {args.frames} frames, {len(set(truth)) - strangers} persons coming "
          f"back ({args.appearances} visits each) and {strangers} strangers, 3 cameras "
          f"(analysed in {time.perf_counter() - started:.0f} s)")  # fmt: skip
    f1 = quality(x, truth, (30, 35, 40, 45, 50, 60))
    print("scale (synthetic templates):")
    size, seconds = scale([int(s) for s in args.sizes.split(",") if s], args.threads)
    print(f"grouping: F1 {f1:.3f} at threshold 40, {size} tracklets in {seconds:.1f} s")


if __name__ == "__main__":
    main()
