"""Labelled scenes made from ../shared/faces: real faces pasted at known sizes and places into
synthetic scenes, with lettering, logos, photo backgrounds and posters around them.

Used by benchmarks/detection.py (recall per face size, false faces per scene) and by the tests
that need a face of a given size or a distractor beside a face. Deterministic for a given
random generator. A face's size is the detector's `face_size`: twice the distance between the
eye centres, in scene pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
)
WORDS = (
    "OPEN", "EXIT", "SALE -50%", "COFFEE", "Pharmacy", "NO ENTRY", "24/7", "BOOKS", "GATE B", "Welcome",
    "HOTEL", "OO", "8:00", "@home", "Q&A", "TAXI", "BUS 38", "Zoo", "MOVIE", "0800 123 456", "Ooh!", "B&B",
)  # fmt: skip


@dataclass(frozen=True)
class SourceFace:
    """A photo with one face and that face's five landmarks (detector order: image-left eye,
    image-right eye, nose tip, image-left and image-right mouth corner)."""

    name: str
    rgb: np.ndarray
    five: np.ndarray

    @property
    def size(self) -> float:
        return float(2 * np.linalg.norm(self.five[1] - self.five[0]))


@dataclass(frozen=True)
class Truth:
    """A face in a scene: its five landmarks and size in scene pixels."""

    five: np.ndarray
    size: float
    source: str
    condition: str = "clean"  # "clean", "blur", "dark", "rotated" (over 20 degrees) or "poster"

    @property
    def centre(self) -> np.ndarray:
        return np.asarray(self.five.mean(0))


@dataclass
class Scene:
    kind: str  # "faces", "posters" or "no faces"
    rgb: np.ndarray
    truths: list[Truth] = field(default_factory=list)


def background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A plausible indoor/outdoor backdrop: smooth colour fields, shapes and lines, noise."""
    coarse = rng.integers(30, 225, (rng.integers(3, 7), rng.integers(3, 9), 3)).astype(np.uint8)
    img = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(rng.integers(3, 10)):
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(20, width // 2)), y0 + int(rng.integers(20, height // 2))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x0, y0), (x1, y1), colour, -1)
        else:
            cv2.line(img, (x0, y0), (x1, y1), colour, int(rng.integers(1, 8)))
    noise = rng.normal(0, 6, img.shape)
    return np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def blend(scene: np.ndarray, patch: np.ndarray, alpha: np.ndarray, x: int, y: int) -> None:
    """Paste `patch` (with alpha 0..1) at (x, y), clipped to the scene, in place."""
    h, w = patch.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, scene.shape[1]), min(y + h, scene.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    p, a = patch[y0 - y : y1 - y, x0 - x : x1 - x], alpha[y0 - y : y1 - y, x0 - x : x1 - x, None]
    region = scene[y0:y1, x0:x1].astype(np.float32)
    scene[y0:y1, x0:x1] = np.clip(a * p + (1 - a) * region, 0, 255).astype(np.uint8)


def face_patch(
    face: SourceFace, size: float, angle: float, *, oval: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(patch, alpha, five points in the patch) of `face` scaled to `size` px and rotated by
    `angle` degrees: the head and some shoulders, in a soft oval (or the whole square)."""
    scale = size / face.size
    centre = face.five.mean(0)
    side = int(np.ceil(2.6 * size)) | 1
    # Shrink first with INTER_AREA (a warp alone aliases a 2000 px photo down to 16 px)...
    margin = side / scale
    x0, y0 = int(centre[0] - margin / 2), int(centre[1] - margin / 2)
    region = cv2.copyMakeBorder(
        face.rgb,
        max(0, -y0),
        max(0, y0 + int(margin) + 2 - face.rgb.shape[0]),
        max(0, -x0),
        max(0, x0 + int(margin) + 2 - face.rgb.shape[1]),
        cv2.BORDER_REFLECT,
    )
    ox, oy = max(0, -x0), max(0, -y0)
    crop = region[y0 + oy : y0 + oy + int(margin) + 2, x0 + ox : x0 + ox + int(margin) + 2]
    inter = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=inter)
    # ...then rotate about the face's centre, which lands in the patch's centre.
    c = (centre - np.array([x0, y0])) * scale
    m = cv2.getRotationMatrix2D((float(c[0]), float(c[1])), angle, 1.0)
    m[:, 2] += side / 2 - c
    patch = cv2.warpAffine(small, m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    alpha: np.ndarray = np.zeros((side, side), np.float32)
    if oval:
        cv2.ellipse(alpha, (side // 2, side // 2), (int(0.85 * size), int(1.15 * size)), -angle, 0, 360, 1.0, -1)
        alpha = cv2.GaussianBlur(alpha, (0, 0), max(0.5, 0.08 * size))
    else:
        alpha[:] = 1.0
    five = (np.c_[(face.five - [x0, y0]) * scale, np.ones(5)] @ m.T).astype(np.float32)
    return patch, alpha, five


def degrade(patch: np.ndarray, size: float, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Blur, darken or neither, as a camera sees faces."""
    roll = rng.random()
    if roll < 0.25:
        sigma = size * rng.uniform(0.02, 0.05)
        return cv2.GaussianBlur(patch, (0, 0), sigma), "blur"
    if roll < 0.45:
        return (patch.astype(np.float32) * rng.uniform(0.25, 0.5)).astype(np.uint8), "dark"
    return patch, "clean"


def lettering(scene: np.ndarray, rng: np.random.Generator, height: float | None = None) -> None:
    """A word or two of signage lettering, any font, size, colour and slant, in place."""
    text = " ".join(rng.choice(WORDS, int(rng.integers(1, 3))))
    font = int(rng.choice(FONTS))
    px = height or rng.uniform(14, 120)
    thickness = max(1, int(px / rng.uniform(6, 14)))
    font_scale = float(px / 22)
    (tw, th), base = cv2.getTextSize(text, font, font_scale, thickness)
    pad = int(th * 0.6)
    w, h = tw + 2 * pad, th + base + 2 * pad
    layer = np.zeros((h, w), np.uint8)
    cv2.putText(layer, text, (pad, pad + th), font, font_scale, 255, thickness, cv2.LINE_AA)
    boxed = rng.random() < 0.4
    colour = rng.integers(0, 255, 3).astype(np.float32)
    panel: np.ndarray = np.empty((h, w, 3), np.float32)
    panel[:] = rng.integers(0, 255, 3) if boxed else 0
    angle = float(rng.uniform(-30, 30)) if rng.random() < 0.4 else 0.0
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    alpha: np.ndarray = layer.astype(np.float32) / 255
    panel = alpha[..., None] * colour + (1 - alpha[..., None]) * panel
    alpha = np.ones_like(alpha) if boxed else alpha
    panel = cv2.warpAffine(panel, m, (w, h))
    alpha = cv2.warpAffine(alpha, m, (w, h))
    x, y = int(rng.integers(-w // 4, scene.shape[1] - w // 2)), int(rng.integers(-h // 4, scene.shape[0] - h // 2))
    blend(scene, panel, alpha, x, y)


def logo(scene: np.ndarray, rng: np.random.Generator) -> None:
    """A brand mark: rings, discs, polygons and initials, in place."""
    side = int(rng.uniform(30, 220))
    layer = np.zeros((side, side, 3), np.uint8)
    alpha = np.zeros((side, side), np.uint8)
    for _ in range(rng.integers(2, 5)):
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        shape = rng.integers(0, 4)
        centre = (int(rng.uniform(0.3, 0.7) * side), int(rng.uniform(0.3, 0.7) * side))
        radius = int(rng.uniform(0.15, 0.45) * side)
        if shape == 0:
            thick = -1 if rng.random() < 0.5 else max(1, side // 12)
            for target, value in ((layer, colour), (alpha, 255)):
                cv2.circle(target, centre, radius, value, thick)
        elif shape == 1:
            pts = rng.uniform(0.05, 0.95, (int(rng.integers(3, 7)), 2)) * side
            for target, value in ((layer, colour), (alpha, 255)):
                cv2.fillPoly(target, [pts.astype(np.int32)], value)
        elif shape == 2:
            for target, value in ((layer, colour), (alpha, 255)):
                cv2.rectangle(
                    target, (centre[0] - radius, centre[1] - radius // 2), (centre[0] + radius, centre[1]), value, -1
                )
        else:
            letters = "".join(rng.choice(list("ABCDEFGHKMNOQRSXZ"), 2))
            for target, value in ((layer, colour), (alpha, 255)):
                cv2.putText(
                    target,
                    letters,
                    (side // 6, int(side * 0.7)),
                    cv2.FONT_HERSHEY_DUPLEX,
                    side / 50,
                    value,
                    max(1, side // 20),
                )
    x, y = int(rng.integers(0, max(1, scene.shape[1] - side))), int(rng.integers(0, max(1, scene.shape[0] - side)))
    blend(scene, layer, alpha.astype(np.float32) / 255, x, y)


def photo_patch(scene: np.ndarray, face: SourceFace, rng: np.random.Generator) -> None:
    """A piece of a photo away from its face (clothes, walls, signs behind the subject), in place."""
    h, w = face.rgb.shape[:2]
    centre, radius = face.five.mean(0), 1.6 * face.size
    for _ in range(20):
        side = int(rng.uniform(0.2, 0.45) * min(h, w))
        x, y = int(rng.integers(0, w - side)), int(rng.integers(0, h - side))
        nearest = np.clip(centre, [x, y], [x + side, y + side])
        if np.linalg.norm(nearest - centre) > radius:  # the face's head stays out of the piece
            out = int(rng.uniform(80, 300))
            piece = cv2.resize(face.rgb[y : y + side, x : x + side], (out, out), interpolation=cv2.INTER_AREA)
            px, py = (
                int(rng.integers(0, max(1, scene.shape[1] - out))),
                int(rng.integers(0, max(1, scene.shape[0] - out))),
            )
            blend(scene, piece, np.ones((out, out), np.float32), px, py)
            return


def place(
    scene: Scene, face: SourceFace, size: float, rng: np.random.Generator, *, near: Truth | None = None, tries: int = 30
) -> bool:
    """Paste `face` at `size` where it overlaps no labelled face by more than a quarter (or next
    to `near`, overlapping it a little); False when no place was found."""
    angle = float(rng.uniform(-45, 45)) if rng.random() < 0.5 else float(rng.uniform(-10, 10))
    patch, alpha, five = face_patch(face, size, angle)
    patch, condition = degrade(patch, size, rng)
    condition = "rotated" if condition == "clean" and abs(angle) > 20 else condition
    side = patch.shape[0]
    height, width = scene.rgb.shape[:2]
    if side > min(height, width) + side * 0.4:
        return False
    for _ in range(tries):
        if near is not None:
            offset = (
                rng.uniform(0.7, 1.0) * (near.size + size) / 2 * np.array([rng.choice([-1, 1]), rng.uniform(-0.5, 0.5)])
            )
            centre = near.centre + offset
        else:
            centre = rng.uniform([size, size], [width - size, height - size])
        placed = five - side / 2 + centre
        if placed.min() < 2 or placed[:, 0].max() > width - 2 or placed[:, 1].max() > height - 2:
            continue
        # The new head (its oval, about 2 x size) may hide at most a quarter of a labelled face.
        if all(_hidden(t, centre, size) <= 0.25 for t in scene.truths):
            x, y = (np.round(centre - side / 2)).astype(int)
            shift = centre - side / 2 - np.array([x, y])
            blend(scene.rgb, patch, alpha, int(x), int(y))
            scene.truths.append(Truth(placed - shift, size, face.name, condition))
            return True
    return False


def _hidden(face: Truth, centre: np.ndarray, size: float) -> float:
    """How much of `face`'s square (side = its size) a head pasted at `centre` covers (its
    square of side 2 x `size`)."""
    (ax, ay), (bx, by), half = face.centre, centre, face.size / 2
    ix = max(0.0, min(ax + half, bx + size) - max(ax - half, bx - size))
    iy = max(0.0, min(ay + half, by + size) - max(ay - half, by - size))
    return float(ix * iy / face.size**2)


def poster(scene: Scene, face: SourceFace, rng: np.random.Generator) -> None:
    """A printed poster: a photo of a face (labelled: a face is a face) under a title, in place."""
    height, width = scene.rgb.shape[:2]
    pw, ph = int(rng.uniform(180, 320)), int(rng.uniform(260, 420))
    x, y = int(rng.integers(0, width - pw)), int(rng.integers(0, height - ph))
    paper = np.empty((ph, pw, 3), np.uint8)
    paper[:] = rng.integers(120, 255, 3)
    size = float(rng.uniform(0.2, 0.32) * pw)
    patch, _, five = face_patch(face, size, 0.0, oval=False)
    side = patch.shape[0]
    top = (pw - side) // 2
    blend(paper, patch, np.ones((side, side), np.float32), top, 8)
    inner = Scene("posters", paper)
    for _ in range(int(rng.integers(2, 4))):
        lettering(inner.rgb, rng, height=float(rng.uniform(14, 34)))
    blend(scene.rgb, paper, np.ones((ph, pw), np.float32), x, y)
    placed = five + np.array([x + top, y + 8])
    visible = placed.min() >= 0 and placed[:, 0].max() < min(width, x + pw) and placed[:, 1].max() < min(height, y + ph)
    # The paper hides the faces under it: they are no longer labelled.
    scene.truths[:] = [t for t in scene.truths if not (x <= t.centre[0] <= x + pw and y <= t.centre[1] <= y + ph)]
    if visible:
        scene.truths.append(Truth(placed, size, face.name, "poster"))


def make_scenes(
    faces: list[SourceFace], sizes: tuple[int, ...], count: int, seed: int, shape: tuple[int, int] = (960, 720)
) -> list[Scene]:
    """`count` scenes: 2/3 with faces of every size in turn, 1/6 with posters, 1/6 with no face
    (lettering, logos, pieces of the photos around their faces). Every scene has lettering."""
    rng = np.random.default_rng(seed)
    width, height = shape
    wanted = [s for _ in range(count) for s in sizes]  # more than needed: the queue never runs dry
    scenes: list[Scene] = []
    for index in range(count):
        kind = "faces" if index % 6 < 4 else ("posters" if index % 6 == 4 else "no faces")
        scene = Scene(kind, background(rng, width, height))
        for _ in range(rng.integers(1, 4)):
            lettering(scene.rgb, rng)
        if kind != "faces":
            for _ in range(rng.integers(1, 4)):
                logo(scene.rgb, rng)
            for _ in range(rng.integers(1, 3)):
                photo_patch(scene.rgb, faces[int(rng.integers(len(faces)))], rng)
            for _ in range(rng.integers(0, 3)):
                lettering(scene.rgb, rng, height=float(rng.uniform(60, 200)))
        if kind == "posters":
            for _ in range(rng.integers(1, 3)):
                poster(scene, faces[int(rng.integers(len(faces)))], rng)
        if kind == "faces":
            for _ in range(rng.integers(3, 8)):
                size = wanted[0]
                near = scene.truths[-1] if scene.truths and rng.random() < 0.3 else None
                if place(scene, faces[int(rng.integers(len(faces)))], size, rng, near=near):
                    wanted.pop(0)
                else:  # no room for it here: the next scene gets it first
                    wanted.insert(1, wanted.pop(0))
        if rng.random() < 0.15:  # a dark scene
            scene.rgb = (scene.rgb.astype(np.float32) * rng.uniform(0.3, 0.5)).astype(np.uint8)
        quality = int(rng.integers(40, 95))
        jpeg = cv2.imencode(".jpg", scene.rgb, [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
        scene.rgb = np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED))
        scenes.append(scene)
    return scenes


def drawn_face(image: np.ndarray, centre: tuple[int, int], size: int) -> None:
    """A face drawn with shapes (a poster's cartoon: skin oval, eyes, brows, nose, lips), about
    `size` px wide, in place (BGR or RGB alike). The shipped detector takes it for a face with a
    confidence of about 8400 (not a face it is sure of): a false face as large as one likes."""
    cx, cy, unit = centre[0], centre[1], size / 340
    cv2.ellipse(image, (cx, cy), (int(170 * unit), int(220 * unit)), 0, 0, 360, (150, 170, 210), -1)
    for side in (-1, 1):
        eye = (cx + int(side * 65 * unit), cy - int(40 * unit))
        cv2.ellipse(image, eye, (int(35 * unit), int(18 * unit)), 0, 0, 360, (255, 255, 255), -1)
        cv2.circle(image, eye, int(14 * unit), (40, 30, 20), -1)
        brow = ((cx + int(side * 30 * unit), cy - int(85 * unit)), (cx + int(side * 100 * unit), cy - int(90 * unit)))
        cv2.line(image, brow[0], brow[1], (40, 40, 60), max(1, int(10 * unit)))
    cv2.line(
        image,
        (cx, cy - int(30 * unit)),
        (cx - int(10 * unit), cy + int(40 * unit)),
        (100, 110, 150),
        max(1, int(6 * unit)),
    )
    cv2.ellipse(image, (cx, cy + int(95 * unit)), (int(60 * unit), int(18 * unit)), 0, 0, 360, (80, 80, 170), -1)
