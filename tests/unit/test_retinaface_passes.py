"""RetinaFace's reads of a photo (services/detector/retinaface.py) without the model: the scale
and passes chosen for a photo, the network's input; and how shared/inference.py loads a model
(the session options)."""

from __future__ import annotations

import numpy as np
import pytest

from services.detector.retinaface import (
    MEAN_BGR,
    OVERVIEW,
    SMALL_IN_OVERVIEW,
    SMALLEST_FACE,
    network_input,
    passes,
    scale_for,
)
from shared.inference import session_options


def test_the_smallest_face_asked_for_is_read_at_the_size_the_network_finds() -> None:
    assert scale_for(1280, 720, 35) == pytest.approx(SMALLEST_FACE / 35)  # 878x494
    assert scale_for(640, 480, 16) == pytest.approx(1.5)  # enlarged for 16 px faces
    assert scale_for(640, 480, 4) == 2.0  # never enlarged more than 2x
    assert scale_for(20000, 10000, 16) == pytest.approx(2560 / 20000)  # nor over 2560 px
    assert scale_for(4000, 3000, 400) == pytest.approx(320 / 4000)  # nor under 320 px


@pytest.mark.parametrize(
    ("size", "reads"),
    [
        ((640, 480, 35), [(439, 329)]),  # one pass
        ((1000, 800, 35), [(686, 549)]),
        ((1280, 720, 35), [(878, 494)]),  # the camera default: one pass, within 1.4 x 640 px
        ((1280, 720, 30), [(640, 360), (1024, 576)]),  # over it: two passes
        ((1920, 1080, 35), [(640, 360), (1317, 741)]),
        ((960, 720, 16), [(640, 480), (1440, 1080)]),  # benchmarks/detection.py's scenes
    ],
)
def test_passes(size: tuple[int, int, int], reads: list[tuple[int, int]]) -> None:
    """(width, height, minFaceSize): the sizes each pass reads the photo at."""
    width, height, min_face_size = size
    plan = passes(width, height, min_face_size)
    assert [(round(width * scale), round(height * scale)) for scale, _ in plan] == reads
    assert plan[-1][0] == pytest.approx(scale_for(width, height, min_face_size))  # the faces asked for
    if len(plan) == 2:
        (overview, everything), (detail, ceiling) = plan
        assert everything == np.inf
        assert max(width, height) * overview == pytest.approx(OVERVIEW)
        # The detail pass keeps the faces under 40 px of the overview's input: under ~250 px of
        # its own, where RetinaFace reads faces right (it gives parts of larger ones).
        assert ceiling * overview == pytest.approx(SMALL_IN_OVERVIEW)
        assert ceiling * detail < 250
    else:
        assert plan[0][1] == np.inf


def test_network_input_is_bgr_minus_the_mean_padded_to_the_grid() -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (45, 70, 3), np.uint8)
    batch = network_input(rgb)
    assert batch.shape == (1, 3, 64, 96) and batch.dtype == np.float32
    expected = (rgb[..., ::-1].astype(np.float32) - MEAN_BGR).transpose(2, 0, 1)
    assert np.array_equal(batch[0, :, :45, :70], expected)
    assert not batch[0, :, 45:].any() and not batch[0, :, :, 70:].any()


def test_session_threads_sleep_between_runs_when_there_are_several() -> None:
    one, two = session_options(1), session_options(2)
    assert (one.intra_op_num_threads, two.intra_op_num_threads) == (1, 2)
    assert two.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert one.inter_op_num_threads == two.inter_op_num_threads == 1
