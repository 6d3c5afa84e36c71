"""Where a camera's frame is searched (services/camera_ingest/regions.py): whole frames at least
every FULL_EVERY_S, between them regions around tracked faces and where the picture moved,
nothing in a still empty scene; and the detector reading only those regions
(services/detector/retinaface.py's windows of the resized frame)."""

from __future__ import annotations

import numpy as np
import pytest

from services.camera_ingest.regions import (
    FULL_EVERY_S,
    Look,
    Narrowing,
    NarrowingConfig,
    area,
    around,
    inside,
    merge,
    moved,
    small_grey,
)
from services.camera_ingest.tracker import Detection, Track, Tracker
from services.detector.retinaface import _inner, _within, window

W, H = 1280, 720
INTERVAL = 0.2  # 5 analysed frames per second
TIMEOUT = 2.0


def box(x: float, y: float = 200, side: float = 100) -> tuple[float, float, float, float]:
    return (x, y, x + side, y + side)


def track(b: tuple[float, float, float, float], at: float = 0.0, velocity: tuple[float, float] = (0, 0)) -> Track:
    return Track(id="t", started_at=at, last_at=at, box=b, velocity=velocity)


def test_a_still_empty_scene_is_searched_whole_once_a_second_and_else_not_at_all() -> None:
    narrowing = Narrowing()
    looks = [narrowing.plan(i * INTERVAL, W, H, [], TIMEOUT, [] if i else None) for i in range(11)]
    assert [look.whole for look in looks] == [True, False, False, False, False, True] + [False] * 4 + [True]
    assert all(look.nothing for look in looks if not look.whole)


def test_a_tracked_face_narrows_the_frames_between_full_detections() -> None:
    narrowing, tracker = Narrowing(), Tracker()
    plan = []
    for i in range(16):
        at = i * INTERVAL
        look = narrowing.plan(at, W, H, tracker.tracks.values(), TIMEOUT, [] if i else None)
        plan.append(look.whole)
        tracker.assign(at, [Detection(box(100 + 20 * i))])
        if not look.whole:
            (region,) = look.regions
            assert inside(box(100 + 20 * i), region) and area(region) < W * H / 4
    # Frame 0 finds the face (whole); then full detections every FULL_EVERY_S (5 frames at 5 fps).
    assert plan == [True, False, False, False, False, True, False, False, False, False, True] + [False] * 4 + [True]
    assert FULL_EVERY_S == 1.0


def test_motion_adds_a_region_and_the_first_frame_is_whole() -> None:
    narrowing = Narrowing()
    empty = np.full((H, W, 3), 96, np.uint8)
    assert narrowing.look(0.0, empty, [], TIMEOUT).whole  # nothing to compare with yet
    assert narrowing.look(0.2, empty, [], TIMEOUT).nothing
    walked_in = empty.copy()
    walked_in[300:420, 900:1000] = 200  # someone's head, 100x120 px
    look = narrowing.look(0.4, walked_in, [], TIMEOUT)
    (region,) = look.regions
    assert not look.whole and inside((900, 300, 1000, 420), region) and area(region) < W * H / 8
    assert all(type(v) is float for v in region)  # not numpy's: the regions travel in a msgspec request
    assert narrowing.look(0.6, walked_in, [], TIMEOUT).nothing  # still again


def test_noise_is_not_motion_and_much_motion_reads_the_frame_whole() -> None:
    rng = np.random.default_rng(1)
    config = NarrowingConfig()

    def noisy(level: float) -> np.ndarray:
        return np.clip(96 + rng.normal(0, level, (H, W, 3)), 0, 255).astype(np.uint8)

    before, after = small_grey(noisy(6), config.motion_side), small_grey(noisy(6), config.motion_side)
    assert moved(before, after, W, H, config) == []  # a camera's sensor noise averages out
    lights = small_grey(np.full((H, W, 3), 160, np.uint8), config.motion_side)
    narrowing = Narrowing()
    narrowing.plan(0.0, W, H, [], TIMEOUT, None)
    changed = moved(before, lights, W, H, config)
    assert narrowing.plan(0.2, W, H, [], TIMEOUT, changed).whole  # the lights went on: all of it changed
    speckles = np.zeros((90, 160), np.uint8)
    speckles[::6, ::6] = 100  # rain: many small changes
    assert moved(np.zeros_like(speckles), speckles, W, H, config) == [(0.0, 0.0, W, H)]


def test_full_detection_bound_holds_with_jittery_frame_times() -> None:
    narrowing = Narrowing()
    tracked = track(box(500))
    times = np.cumsum(np.random.default_rng(3).uniform(0.1, 0.3, 200))
    full = []
    for at in times:
        tracked.last_at = float(at) - 0.05
        if narrowing.plan(float(at), W, H, [tracked], TIMEOUT, []).whole:
            full.append(float(at))
    gaps = np.diff(full)
    assert gaps.max() < FULL_EVERY_S + 0.3  # at most FULL_EVERY_S plus one frame interval


def test_the_region_follows_the_velocity_and_grows_with_time_unseen() -> None:
    config = NarrowingConfig()
    still = around(track(box(500)), 0.2, W, H, config)
    moving = around(track(box(500), velocity=(400, 0)), 0.2, W, H, config)
    assert inside(box(500), still) and inside(box(580), moving)  # 400 px/s for 0.2 s
    assert (moving[0] + moving[2]) / 2 - (still[0] + still[2]) / 2 == pytest.approx(80)
    later = around(track(box(500)), 1.0, W, H, config)
    assert area(later) > area(still)
    # The margin: MARGIN box sides and SPREAD more per second unseen, on each side.
    assert still[2] - still[0] == pytest.approx(100 + 2 * 100 * (config.margin + config.spread * 0.2))


def test_regions_stay_in_the_frame_and_small_faces_get_context() -> None:
    config = NarrowingConfig()
    edge = around(track((0, 0, 40, 40)), 0.0, W, H, config)
    assert edge[0] == 0 and edge[1] == 0 and edge[2] <= W
    tiny = around(track((600, 300, 610, 310)), 0.0, W, H, config)
    assert tiny[2] - tiny[0] >= config.min_side and tiny[3] - tiny[1] >= config.min_side


def test_overlapping_regions_merge_and_apart_ones_do_not() -> None:
    assert merge([box(0), box(50), box(400)]) == [(0, 200, 150, 300), box(400)]
    # A chain: a overlaps b only after b merged with c.
    assert merge([(0, 0, 10, 10), (20, 0, 30, 10), (5, 0, 25, 10)]) == [(0, 0, 30, 10)]
    assert merge([]) == [] and merge([(5, 5, 5, 10)]) == []


def test_regions_covering_most_of_the_frame_read_it_whole() -> None:
    narrowing = Narrowing()
    assert narrowing.plan(0.0, W, H, [track(box(500))], TIMEOUT, None).whole
    near_faces = [track(box(x, 300, 60), 0.0) for x in (100, 600, 1100)]
    assert len(narrowing.plan(0.2, W, H, near_faces, TIMEOUT, []).regions) == 3
    big = [track(box(200, 100, 400), 0.0), track(box(800, 100, 400), 0.0)]
    assert narrowing.plan(0.4, W, H, big, TIMEOUT, []) == Look(whole=True)
    assert narrowing.full_at == 0.4  # that was a full detection: the next one is a second later


def test_a_tracked_face_alone_is_read_for_faces_from_half_its_width() -> None:
    narrowing = Narrowing()
    narrowing.plan(0.0, W, H, [], TIMEOUT, None)
    look = narrowing.plan(0.2, W, H, [track(box(500, 300, 120), at=0.0)], TIMEOUT, [])
    assert look.face_sizes == [60.0] and inside(box(500, 300, 120), look.regions[0])
    small = narrowing.plan(0.4, W, H, [track(box(500, 300, 40), at=0.2)], TIMEOUT, [])
    assert small.face_sizes == [20.0]  # the detector reads it for minFaceSize where that is more


def test_what_moves_around_a_tracked_face_is_read_every_other_frame_and_other_motion_in_each() -> None:
    """The walker's own body moving (touching its face's region) is read in every other frame
    between full detections, with the face's region merged into it; motion elsewhere (someone
    walking in) in every frame; in between the face's region alone, for its own size."""
    narrowing = Narrowing()
    narrowing.plan(0.0, W, H, [], TIMEOUT, None)
    face = box(500, 150, 100)
    body = (450.0, 220.0, 650.0, 700.0)  # below the face, touching its region
    apart = (1000.0, 100.0, 1200.0, 300.0)
    looks = [
        narrowing.plan(0.2 * i, W, H, [track(face, at=0.2 * (i - 1))], TIMEOUT, [body, apart]) for i in range(1, 5)
    ]
    for i, look in enumerate(looks, start=1):
        assert not look.whole
        by_size = dict(zip(look.regions, look.face_sizes, strict=True))
        assert by_size[apart] == 0.0  # in every frame, for minFaceSize
        (around_face,) = [r for r in look.regions if inside(face, r)]
        if i % 2:  # skipped: the face's region alone, for faces from half its width
            assert not any(inside(body, r) for r in look.regions) and by_size[around_face] == 50.0
        else:  # read: the face's region merged with it, for minFaceSize
            assert inside(body, around_face) and by_size[around_face] == 0.0
    assert narrowing.plan(1.0, W, H, [track(face, at=0.8)], TIMEOUT, [body, apart]).whole
    after = narrowing.plan(1.2, W, H, [track(face, at=1.0)], TIMEOUT, [body, apart])
    assert not any(inside(body, r) for r in after.regions)  # the full detection read it just now
    every = Narrowing(NarrowingConfig(tracked_motion_every=1))
    every.plan(0.0, W, H, [], TIMEOUT, None)
    assert any(inside(body, r) for r in every.plan(0.2, W, H, [track(face, at=0.0)], TIMEOUT, [body]).regions)


def test_what_moved_beside_a_tracked_face_in_a_skipped_frame_is_read_in_the_next() -> None:
    """Someone steps in beside a tracked person in a frame whose motion around that person is
    skipped, then stands still: the next frame shows no change there, and reads it anyway (it
    would wait for the full detection otherwise); read once, it is not read again."""
    narrowing = Narrowing()
    narrowing.plan(0.0, W, H, [], TIMEOUT, None)
    face = box(500, 150, 100)
    beside = (300.0, 250.0, 450.0, 420.0)  # touches the face's region: skipped in frame 1
    skipped = narrowing.plan(0.2, W, H, [track(face, at=0.0)], TIMEOUT, [beside])
    assert not any(inside(beside, r) for r in skipped.regions)
    still = narrowing.plan(0.4, W, H, [track(face, at=0.2)], TIMEOUT, [])
    (read,) = [r for r in still.regions if inside(beside, r)]
    assert dict(zip(still.regions, still.face_sizes, strict=True))[read] == 0.0  # for minFaceSize
    after = narrowing.plan(0.6, W, H, [track(face, at=0.4)], TIMEOUT, [])
    assert not any(inside(beside, r) for r in after.regions)


def test_tracklets_past_the_timeout_do_not_narrow() -> None:
    narrowing = Narrowing()
    narrowing.plan(0.0, W, H, [], TIMEOUT, None)
    assert narrowing.plan(0.5, W, H, [track(box(500), at=0.0)], TIMEOUT, []).regions
    assert narrowing.plan(0.6, W, H, [track(box(500), at=-2.0)], TIMEOUT, []).nothing


def test_tracker_measures_velocity() -> None:
    tracker = Tracker()
    ((t, _),) = tracker.assign(0.0, [Detection(box(100))])
    tracker.assign(0.5, [Detection(box(150, 210))])
    assert t.velocity == (100.0, 20.0)


def test_a_region_is_read_as_a_window_of_the_resized_frame_on_the_network_grid() -> None:
    # 1280x720 read at 0.6859 (minFaceSize 35): 878x494.
    sx, sy = 878 / 1280, 494 / 720
    got = window((500.0, 300.0, 700.0, 460.0), sx, sy, 878, 494)
    assert got is not None
    x0, y0, x1, y1 = got
    assert x0 % 32 == 0 and y0 % 32 == 0 and x0 <= 500 * sx < x0 + 32 and y0 <= 300 * sy < y0 + 32
    assert (x1, y1) == (int(np.ceil(700 * sx)), int(np.ceil(460 * sy)))
    assert window((-50.0, -10.0, 2000.0, 900.0), sx, sy, 878, 494) == (0, 0, 878, 494)
    assert window((1300.0, 0.0, 1400.0, 10.0), sx, sy, 878, 494) is None


def test_a_face_cut_by_a_regions_edge_is_left_out() -> None:
    # A window of a 878x494 resize of 1280x720 (sx = sy = 0.686): its left and top edges cut the frame, its
    # right and bottom are the frame's own.
    bounds = _inner((320, 192, 878, 494), 878 / 1280, 494 / 720, 878, 494)
    assert bounds[0] == pytest.approx(320 * 1280 / 878 + 2) and bounds[2] == np.inf and bounds[3] == np.inf
    assert _within(np.array([600.0, 400.0, 700.0, 520.0]), bounds)
    assert not _within(np.array([460.0, 400.0, 560.0, 520.0]), bounds)  # over the left edge: half a face
    assert _within(np.array([1200.0, 650.0, 1290.0, 730.0]), bounds)  # at the frame's own edge
