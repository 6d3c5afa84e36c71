"""Pedestrians and objects without models: the REST configs as the detector gets them, save
strategies, body points as SmartFace's fields, peak finding and letterboxing."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from services.camera_ingest.bodies import Keep
from services.camera_ingest.pedestrians import keypoint_fields, object_json, pedestrian_json
from services.detector.bodies import COCO, letterbox, peaks
from services.gateway.detection import object_config, pedestrian_config
from shared.messages.bodies import OBJECT_TYPES, DetectedObject, DetectedPedestrian, Keypoint, object_type_number
from shared.messages.cameras import (
    ObjectDetectorConfigRequest,
    ObjectTypesForDetection,
    PedestrianDetectorConfigRequest,
)


def test_every_smartface_object_type_is_a_coco_class() -> None:
    assert set(OBJECT_TYPES) <= set(COCO)
    assert object_type_number("car") == 1 and object_type_number("knife") == len(OBJECT_TYPES)
    assert set(OBJECT_TYPES) == {f.removeprefix("detect_") for f in ObjectTypesForDetection.__struct_fields__}


def test_configs_take_smartfaces_defaults_for_what_a_request_leaves_out() -> None:
    assert pedestrian_config(None).confidence_threshold == 2500 and pedestrian_config(None).min_pedestrian_size == 80
    partial = pedestrian_config(PedestrianDetectorConfigRequest(max_pedestrians=3))
    assert partial.max_pedestrians == 3 and partial.max_pedestrian_size == 2000
    objects = object_config(ObjectDetectorConfigRequest(
        confidence_threshold=4000, object_types_configuration=ObjectTypesForDetection(detect_car=True, detect_dog=True),
    ))  # fmt: skip
    assert objects.types == ("car", "dog") and objects.confidence_threshold == 4000 and objects.min_object_size == 40
    assert object_config(None).types == ()  # no flag set: every type


@pytest.mark.parametrize(
    ("text", "keep"),
    [
        (None, Keep(first=False, best=True)),
        ("Best", Keep(first=False, best=True)),
        ("First", Keep(first=True, best=False)),
        ("First, Best", Keep(first=True, best=True)),
        ("Balanced", Keep(first=True, best=True)),
        ("All", Keep(first=False, best=True, every=True)),
        ("MatchedOnly", Keep(first=False, best=True)),
        ("None", None),
    ],
)
def test_save_strategies(text: str | None, keep: Keep | None) -> None:
    assert Keep.parse(text) == keep


def person(scores: list[float]) -> DetectedPedestrian:
    points = [Keypoint(10.0 * k, 20.0 * k, s) for k, s in enumerate(scores)]
    return DetectedPedestrian(order=2, box=(0.0, 0.0, 50.0, 200.0), confidence=7000, size=200.0, keypoints=points)


def test_body_points_as_smartface_fields() -> None:
    fields = keypoint_fields(person([0.9] * 17))
    assert fields["nose_x"] == 0.0 and fields["eye_left_x"] == 10.0 and fields["ankle_right_y"] == 320.0
    assert fields["neck_x"] == pytest.approx(55.0) and fields["neck_y"] == pytest.approx(110.0)
    unsure = keypoint_fields(person([0.9] * 5 + [0.1] + [0.9] * 11))  # the left shoulder unseen
    assert unsure["shoulder_left_x"] is None and unsure["neck_x"] is None and unsure["shoulder_right_x"] == 60.0
    at = datetime(2026, 1, 2, tzinfo=UTC)
    stored = pedestrian_json(person([0.9] * 17), 3, at, 100 * 400)
    assert stored["crop_right_bottom_y"] == 200.0 and stored["area_on_frame"] == pytest.approx(0.25)
    assert stored["object_order_on_frame_for_type"] == 2 and stored["objects_on_frame_count_for_type"] == 3
    car = DetectedObject(type="car", order=1, box=(0.0, 0.0, 10.0, 10.0), confidence=6000, size=10.0)
    assert object_json(car, 1, at, 100.0)["generic_object_type"] == 1


def test_peaks_are_local_maxima_over_the_floor_best_first() -> None:
    heat = np.zeros((8, 8), np.float32)
    heat[2, 2], heat[2, 3], heat[6, 6], heat[0, 7] = 0.9, 0.5, 0.7, 0.05
    assert peaks(heat, 0.1) == [(2, 2), (6, 6)]
    cube = np.zeros((4, 4, 3), np.float32)
    cube[1, 1, 2] = 0.8
    assert peaks(cube, 0.1) == [(1, 1, 2)]


def test_letterbox_maps_back_to_the_image() -> None:
    square, fit = letterbox(np.zeros((100, 200, 3), np.uint8), 256)
    assert square.shape == (256, 256, 3) and fit.scale == pytest.approx(1.28) and fit.pad_y == 64.0
    assert fit.to_image(np.array([0.0 + fit.pad_x, 64.0 + 128.0])) == pytest.approx([0.0, 100.0])
