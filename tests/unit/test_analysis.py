"""The analysis client's pure parts (shared/analysis.py): which faces go to the extractor, what
it is sent, how its answers join the detector's, and why there is no face."""

from __future__ import annotations

from shared.analysis import NOT_EXTRACTED, Analysis, combine, extract_request, extraction
from shared.messages import faces as wire
from tests.unit.faces import detected, extracted

FEATURES = wire.FaceFeaturesConfig(template=True, distant_liveness=True)


def response(*faces: wire.DetectedFace, rejected: list[str] | None = None) -> wire.DetectResponse:
    return wire.DetectResponse(width=640, height=480, faces=list(faces), detector="test", rejected=rejected or [])


def test_every_face_goes_to_the_extractor_in_one_batch_with_its_geometry() -> None:
    faces = [detected(1, crop=b"one", size=200), detected(2, crop=b"two", size=100)]
    chosen, request = extraction(response(*faces), FEATURES)
    assert chosen == [0, 1]
    assert request == extract_request(faces, FEATURES)
    assert request.crops == [b"one", b"two"] and request.face_features_config == FEATURES
    assert [g.face_size for g in request.geometry] == [200, 100]


def test_only_the_wanted_faces_are_extracted_the_others_are_marked() -> None:
    faces = [detected(1, crop=b"one"), detected(2, crop=b"two"), detected(3, crop=b"three")]
    chosen, request = extraction(response(*faces), FEATURES, wanted=lambda d: d.face_order != 2)
    assert chosen == [0, 2] and request is not None and request.crops == [b"one", b"three"]
    first, third = extracted("Female"), extracted("Male")
    found = combine(response(*faces), chosen, wire.ExtractResponse(faces=[first, third]))
    assert [f.extracted for f in found.faces] == [first, NOT_EXTRACTED, third]
    assert [f.was_extracted for f in found.faces] == [True, False, True]
    assert [f.detected for f in found.faces] == faces
    assert (found.width, found.height) == (640, 480)


def test_no_face_wanted_sends_nothing_to_the_extractor() -> None:
    detect = response(detected(1), detected(2))
    chosen, request = extraction(detect, FEATURES, wanted=lambda _: False)
    assert (chosen, request) == ([], None)
    assert [f.was_extracted for f in combine(detect, chosen, None).faces] == [False, False]
    assert extraction(response(), FEATURES) == ([], None)


def test_an_image_without_faces_keeps_the_detectors_reasons() -> None:
    found = combine(response(rejected=["a face 30 px wide, under minFaceSize 35"]), [], None)
    assert found.faces == [] and found.rejected == ["a face 30 px wide, under minFaceSize 35"]
    assert found.none_found() == "no face passes faceDetectorConfig: found a face 30 px wide, under minFaceSize 35"


def test_none_found_wording() -> None:
    assert Analysis(width=1, height=1, faces=[]).none_found() == "no face found"
    two = Analysis(width=1, height=1, faces=[], rejected=["a", "b"])
    assert two.none_found() == "no face passes faceDetectorConfig: found a; b"
