"""A camera's narrowed detection with the real detector (services/camera_ingest/regions.py):
between full detections only the regions around tracked faces and where the picture moved are
read, the faces found there are those the whole frame gives, and a face that enters while
another is tracked is found in the first frame it is in (it moved), and without motion within
FULL_EVERY_S plus one frame interval. The frames are the RTSP tests' walking faces
(tests/rtsp/media.py), sampled at 5 fps as a camera's at 720p."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import pytest

from services.camera_ingest.regions import FULL_EVERY_S, Narrowing, NarrowingConfig, inside
from services.camera_ingest.session import ahead
from services.camera_ingest.tracker import Detection, Tracker, iou
from services.extractor.pipeline import FacePipeline
from shared.messages.faces import Box, DetectedFace, ExtractRequest, FaceDetectorConfig
from tests.rtsp.media import walking_face

WIDTH, HEIGHT = 1280, 720
INTERVAL = 0.2  # s, 5 analysed frames per second
TIMEOUT = 2.0  # the tracklet timeout's default
CAMERA = FaceDetectorConfig(min_face_size=35, max_face_size=600, max_faces=20)  # a camera's defaults
WALKER, ENTERING = "img1.jpg", "img20.jpg"
ENTERS_AT = 7  # the second person's first frame: between two full detections (frames 5 and 10)
PHOTO = 0.25  # of the frame's height: the photos' faces are about 65 px wide, as a camera sees people


def detect(
    pipeline: FacePipeline, rgb: np.ndarray, regions: list[Box], sizes: list[float] | None = None
) -> list[DetectedFace]:
    detector = pipeline.detector
    return detector.detect_rgb(rgb, CAMERA, include_crops=False, regions=regions, region_face_sizes=sizes or []).faces


def walk(pipeline: FacePipeline, narrowing: Narrowing, behind: int = 0) -> tuple[list[bool], list[bool], list[bool]]:
    """The walker crosses the top half; the second person is in the bottom half from frame
    ENTERS_AT on. Per frame: (read in regions only, the walker found, the second one found).
    `behind`: the frames the tracker lags (a video record's frames in flight: each frame's
    regions are asked before the previous `behind` frames are tracked, StreamSession.look)."""
    frames = walking_face(WIDTH, HEIGHT, 30, WALKER, other=ENTERING, other_from=ENTERS_AT, size=PHOTO)
    tracker = Tracker()
    narrowed: list[bool] = []
    walker_found: list[bool] = []
    entering_found: list[bool] = []
    untracked: deque[tuple[float, list[DetectedFace]]] = deque()
    tracked_at: float | None = None  # the last frame the tracker took
    for i, bgr in enumerate(frames):
        at = i * INTERVAL
        rgb = np.ascontiguousarray(bgr[..., ::-1])
        while len(untracked) > behind:
            tracked_at, found = untracked.popleft()
            tracker.assign(tracked_at, [Detection(f.box) for f in found])
        tracks = list(tracker.tracks.values())
        if tracked_at is not None and tracked_at < at - INTERVAL - 1e-9:  # behind the previous frame
            tracks = [ahead(t, at - INTERVAL - tracked_at) for t in tracks]
        look = narrowing.look(at, rgb, tracks, TIMEOUT)
        faces = [] if look.nothing else detect(pipeline, rgb, look.regions, look.face_sizes)
        untracked.append((at, faces))
        narrowed.append(not look.whole)
        walker_found.append(any((f.box[1] + f.box[3]) / 2 < HEIGHT / 2 for f in faces))
        entering_found.append(any((f.box[1] + f.box[3]) / 2 > HEIGHT / 2 for f in faces))
        if look.regions and i % 3 == 1:  # now and then: the regions give what the whole frame gives there
            whole = detect(pipeline, rgb, [])
            there = [w for w in whole if any(inside(w.box, r) for r in look.regions)]
            assert len(there) == len(faces), (there, faces)
            for f in faces:
                assert max(iou(f.box, w.box) for w in there) > 0.9
    assert sum(narrowed) >= len(frames) // 2, narrowed  # most frames were read in regions only
    assert all(walker_found), walker_found  # the tracked face is followed in its region
    assert not any(entering_found[:ENTERS_AT])
    return narrowed, walker_found, entering_found


def test_a_face_walking_into_a_stream_is_found_in_the_first_frame_it_is_in(pipeline: FacePipeline) -> None:
    """The second person appears between two full detections, where the picture changed."""
    narrowed, _, entering_found = walk(pipeline, Narrowing())
    assert narrowed[ENTERS_AT] and entering_found[ENTERS_AT], (narrowed, entering_found)
    assert all(entering_found[ENTERS_AT:]), entering_found


def test_without_motion_a_face_entering_is_found_by_the_next_full_detection(pipeline: FacePipeline) -> None:
    """Motion is not relied on: with none seen, the full detections find the newcomer within
    FULL_EVERY_S plus one frame interval."""
    narrowed, _, entering_found = walk(pipeline, Narrowing(NarrowingConfig(motion_level=255)))
    first = entering_found.index(True)
    assert first > ENTERS_AT and not narrowed[first]  # away from the tracked face: a full detection found it
    assert (first - ENTERS_AT) * INTERVAL <= FULL_EVERY_S + INTERVAL + 1e-9
    assert all(entering_found[first:]), entering_found  # and from then on its region follows it


def test_a_video_records_faces_are_found_with_its_tracker_frames_behind(pipeline: FacePipeline) -> None:
    """A record's frames are narrowed ahead of its tracker (4 frames in flight): its tracklets
    are looked for where their velocity took them, and the walker is found in every frame as
    when the tracker is up to date; so is the newcomer, from the frame it enters in."""
    narrowed, _, entering_found = walk(pipeline, Narrowing(), behind=4)
    assert narrowed[ENTERS_AT] and all(entering_found[ENTERS_AT:]), (narrowed, entering_found)


def test_a_large_tracked_face_is_read_coarser_and_found_as_the_whole_frame_finds_it(pipeline: FacePipeline) -> None:
    """A face half the frame's height walking (the camera benchmark's): between full detections
    its region is read for faces from half its width up (regions.TRACKED_SHARE), at a coarser
    scale than minFaceSize needs, in the frames that do not also read its body's motion; it is
    found in every frame, where the whole frame finds it, with the same template."""
    frames = walking_face(WIDTH, HEIGHT, 15, WALKER, size=0.5)
    narrowing, tracker = Narrowing(), Tracker()
    coarse = 0
    for i, bgr in enumerate(frames):
        at = i * INTERVAL
        rgb = np.ascontiguousarray(bgr[..., ::-1])
        look = narrowing.look(at, rgb, list(tracker.tracks.values()), TIMEOUT)
        faces = detect(pipeline, rgb, look.regions, look.face_sizes)
        assert len(faces) == 1, (i, look, faces)
        tracker.assign(at, [Detection(f.box) for f in faces])
        if any(f > CAMERA.min_face_size for f in look.face_sizes):
            coarse += 1
            (whole,) = detect(pipeline, rgb, [])
            assert iou(faces[0].box, whole.box) > 0.8, (faces[0].box, whole.box)
            # Aligned alike (FaceMesh refines the face in its own crop either way): the same template.
            crops = [
                pipeline.detector.detect_rgb(rgb, CAMERA, regions=regions, region_face_sizes=sizes).faces[0].crop
                for regions, sizes in ((look.regions, look.face_sizes), ([], []))
            ]
            templates = pipeline.extractor.extract(ExtractRequest(crops=crops)).faces
            coarse_template, whole_template = (np.frombuffer(t.template or b"", "<f4") for t in templates)
            assert float(coarse_template @ whole_template) > 0.998
    assert coarse >= 4, coarse  # most frames between full detections read it coarser


def test_a_region_asked_for_larger_faces_is_read_at_their_coarser_scale(
    pipeline: FacePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """retinaface.faces reads a region for its own smallest face where that is more than
    minFaceSize: at 720p with minFaceSize 35 the frame's scale is 24/35; for 60 px faces 24/60."""
    retinaface = pipeline.detector.retinaface
    read: list[tuple[int, ...]] = []
    infer = retinaface._infer

    def spy(rgb: np.ndarray, *args: Any) -> Any:
        read.append(rgb.shape[:2])
        return infer(rgb, *args)

    monkeypatch.setattr(retinaface, "_infer", spy)
    rgb = np.ascontiguousarray(walking_face(WIDTH, HEIGHT, 1, WALKER, size=0.5)[0][..., ::-1])
    region = (0.0, 0.0, 640.0, 640.0)
    for sizes in ([0.0], [20.0], [60.0]):
        pipeline.detector.detect_rgb(rgb, CAMERA, include_crops=False, regions=[region], region_face_sizes=sizes)
    fine, under_minimum, coarse = read
    assert under_minimum == fine  # a smaller face than minFaceSize asks nothing finer
    assert fine[1] == pytest.approx(640 * 24 / 35, abs=2) and coarse[1] == pytest.approx(640 * 24 / 60, abs=2)
