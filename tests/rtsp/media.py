"""Test media made at run time from the photos in ../shared/faces/ (never committed).

A face walks across a grey background from left to right: the frames an RTSP test server loops,
and an H.264 file for the decode benchmark.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

FACES = Path(__file__).resolve().parents[3] / "shared" / "faces" / "photos"
DEFAULT_PHOTO = "img1.jpg"


def _face(photo: str, side: int) -> np.ndarray:
    image = cv2.imread(str(FACES / photo))
    if image is None:
        raise FileNotFoundError(FACES / photo)
    scale = side / max(image.shape[:2])
    return cv2.resize(image, (max(1, int(image.shape[1] * scale)), max(1, int(image.shape[0] * scale))))


def walking_face(
    width: int,
    height: int,
    count: int,
    photo: str = DEFAULT_PHOTO,
    other: str | None = None,
    other_from: int = 0,
    size: float = 0.5,
) -> list[np.ndarray]:
    """`count` BGR frames of one photo (scaled to `size` of the frame height, default half)
    crossing the frame from left to right; with `other`, a second person crosses from right to
    left below the first (each in one half of the frame, so that their faces never overlap), in
    the frames from `other_from` on (entering the picture while the first is in view)."""
    side = max(16, int(height * min(size, 0.5)))
    walkers = [(_face(photo, side), False)] + ([(_face(other, side), True)] if other else [])
    frames = []
    for i in range(count):
        frame = np.full((height, width, 3), 96, dtype=np.uint8)
        for row, (face, leftwards) in enumerate(walkers):
            if row == 1 and i < other_from:
                continue
            fh, fw = face.shape[:2]
            step = (count - 1 - i) if leftwards else i
            x = int((width - fw) * step / max(1, count - 1))
            y = (height - fh) // 2 if len(walkers) == 1 else row * (height // 2) + (height // 2 - fh) // 2
            frame[y : y + fh, x : x + fw] = face
        frames.append(frame)
    return frames


def write_jpegs(
    folder: Path,
    width: int = 640,
    height: int = 360,
    count: int = 30,
    photo: str = DEFAULT_PHOTO,
    empty: int = 0,
    other: str | None = None,
    other_from: int = 0,
) -> str:
    """Write the frames as frame000.jpg...; return the printf pattern multifilesrc takes.
    `empty` frames without a face follow the walk: looped, each pass is one person passing
    (with `other`, two people passing each other; the second from frame `other_from` on)."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = walking_face(width, height, count, photo, other, other_from)
    frames += [np.full((height, width, 3), 96, dtype=np.uint8) for _ in range(empty)]
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"frame{i:03d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return str(folder / "frame%03d.jpg")


def write_h264(
    path: Path, width: int, height: int, seconds: float, fps: int = 25, bitrate_kbps: int = 0, face: float = 0.5
) -> Path:
    """An H.264 MP4 of the walking face as a camera sends it, for decode benchmarks: sensor noise
    on every frame (a clean synthetic picture decodes several times faster than a real one),
    CABAC (x264 `superfast`, as cameras' Main/High profiles), a keyframe a second and a camera's
    bitrate (default: 2 Mbit/s at 720p, scaled by pixel count); the photo `face` of the frame's
    height (walking_face's `size`)."""
    count = int(seconds * fps)
    frames = walking_face(width, height, min(count, 50), size=face)
    rng = np.random.default_rng(0)
    noise = [rng.normal(0, 6, (height, width, 3)).astype(np.int16) for _ in range(8)]
    kbps = bitrate_kbps or int(2000 * width * height / (1280 * 720))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.bit_rate = kbps * 1000
        stream.options = {"preset": "superfast", "g": str(fps)}
        for i in range(count):
            bgr = np.clip(frames[i % len(frames)] + noise[i % len(noise)], 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(bgr, format="bgr24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


Scene = tuple[str | None, float]  # a photo walking across (None: nobody) for so many seconds


def write_clip(
    path: Path,
    scenes: list[Scene],
    width: int = 640,
    height: int = 360,
    fps: int = 10,
    audio: bool = False,
    rotation: int = 0,
) -> Path:
    """A recorded video (H.264; the container from the suffix: .mp4, .mkv) of the scenes one
    after the other: in each, its photo walks across the picture (or the picture stays empty),
    at most half the shorter side high; with `audio`, an AAC track (a tone) beside the video, as
    a phone's recording has. With `rotation` (degrees counter-clockwise, a multiple of 90), the
    `width` x `height` picture is stored turned back by it with a display matrix of `rotation`,
    as a phone stores a portrait video: players (and Facegate) show it upright."""
    turns = rotation // 90
    stored_width, stored_height = (height, width) if turns % 2 else (width, height)
    size = 0.5 * min(width, height) / height
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = stored_width, stored_height, "yuv420p"
        if rotation:
            video.set_display_rotation(rotation)
        video.time_base = Fraction(1, fps)
        video.options = {"preset": "ultrafast", "g": str(fps)}
        sound = out.add_stream("aac", rate=16000) if audio else None
        if sound is not None:
            sound.layout = "mono"
        index = 0
        for photo, seconds in scenes:
            count = max(1, round(seconds * fps))
            if photo is None:
                frames = [np.full((height, width, 3), 96, dtype=np.uint8)] * count
            else:
                frames = walking_face(width, height, count, photo, size=size)
            for bgr in frames:
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.rot90(bgr, -turns)), format="bgr24")
                frame.pts = index
                out.mux(video.encode(frame))
                index += 1
        out.mux(video.encode(None))
        if sound is not None:
            _tone(out, sound, index / fps)
    return path


def _tone(out: av.container.OutputContainer, sound: av.audio.stream.AudioStream, seconds: float) -> None:
    rate, chunk = 16000, 1024
    samples = np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate).astype(np.float32) * 0.2
    for start in range(0, len(samples) - chunk, chunk):
        frame = av.AudioFrame.from_ndarray(samples[None, start : start + chunk], format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, start
        out.mux(sound.encode(frame))
    out.mux(sound.encode(None))
