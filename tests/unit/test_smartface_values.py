"""The values SmartFace accepts for its string settings (shared/smartface_values.py), against the
list SmartFace's document gives (../shared/design/smartface-values.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest

from shared.errors import ValidationFailed
from shared.smartface_values import CAMERA, EDGE_STREAM, IDENTIFICATION, check, is_accepted, runs
from tests.support import REPO

VALUES_MD = REPO.parent / "shared" / "design" / "smartface-values.md"
IDENTIFICATION_OPERATIONS = {
    "POST /api/v1/WatchlistMembers/Register",
    "POST /api/v1/WatchlistMembers/{id}/AddNewFace",
    "POST /api/v1/Watchlists/Search",
    "POST /api/v1/Faces/Verify",
    "POST /api/v1/Faces/SpoofCheck",
}
CAMERA_OPERATIONS = {"POST /api/v1/Cameras", "PUT /api/v1/Cameras"}
EDGE_OPERATIONS = {"POST /api/v1/EdgeStreams", "PUT /api/v1/EdgeStreams"}


def documented() -> list[tuple[str, set[str], set[str]]]:
    """(field, values, operations) of each row of smartface-values.md."""
    if not VALUES_MD.exists():
        pytest.skip(f"{VALUES_MD} is not here")
    rows = []
    for line in VALUES_MD.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            values = set(re.findall(r"`([^`]+)`", cells[1]))
            rows.append((cells[0].strip("`"), values, {op.strip() for op in cells[2].split(";")}))
    return rows


def table_field(table: Mapping[str, tuple[str, ...]], name: str) -> str | None:
    """The table's field for a name of the document (`SpoofDetectorResourceId` on Search is the
    `spoofDetectorResourceIds` list)."""
    wanted = (name[0].lower() + name[1:]).removesuffix("s")
    return next((f for f in table if f.removesuffix("s") == wanted), None)


TABLES = [(IDENTIFICATION, IDENTIFICATION_OPERATIONS), (CAMERA, CAMERA_OPERATIONS), (EDGE_STREAM, EDGE_OPERATIONS)]


@pytest.mark.parametrize(("table", "operations"), TABLES)
def test_the_tables_are_smartfaces_lists(table: Mapping[str, tuple[str, ...]], operations: set[str]) -> None:
    found: dict[str, set[str]] = {}
    for name, values, where in documented():
        field = table_field(table, name)
        if field is not None and where & operations:
            assert values <= set(table[field]), (name, where & operations, values - set(table[field]))
            found.setdefault(field, set()).update(values)
    assert found == {field: set(values) for field, values in table.items()}


def test_values_match_in_any_case_with_or_without_remote() -> None:
    for value in ("CPU", "gpu_remote", "Accurate_Any", "cuda", "any_remote"):
        assert is_accepted(IDENTIFICATION, "faceDetectorResourceId", value), value
    for value in ("any", "NONE", "accurate_cpu_remote"):
        assert is_accepted(CAMERA, "faceDetectorResourceId", value), value
    assert not is_accepted(IDENTIFICATION, "faceDetectorResourceId", "none")  # no detection: no face to search
    assert not is_accepted(IDENTIFICATION, "templateGeneratorResourceId", "accurate_cpu")
    assert is_accepted(IDENTIFICATION, "spoofDetectorResourceIds", "LIVENESS_NEARBY_GPU_REMOTE")
    assert not is_accepted(CAMERA, "objectDetectorResourceId", "cpu")
    assert is_accepted(IDENTIFICATION, "faceValidationMode", "Predefined")
    assert not is_accepted(IDENTIFICATION, "faceValidationMode", "strict")


def test_save_strategies_take_smartfaces_list_and_its_default_flags() -> None:
    for value in ("Balanced", "none", "ALL", "MatchedOnly", "FirstFace, BestFace", "BestFace", "firstface,bestface"):
        assert is_accepted(CAMERA, "faceSaveStrategy", value), value
    for value in ("Best", "First, Best", "Balanced", "All"):
        assert is_accepted(CAMERA, "pedestrianSaveStrategy", value), value
    assert not is_accepted(CAMERA, "pedestrianSaveStrategy", "MatchedOnly")
    assert not is_accepted(CAMERA, "faceSaveStrategy", "FirstFace, Everything")
    assert not is_accepted(CAMERA, "faceSaveStrategy", "")


def test_an_unknown_value_is_a_400_naming_the_field_and_listing_the_accepted_ones() -> None:
    check(IDENTIFICATION, "probeImage.faceDetectorResourceId", None)  # the default
    with pytest.raises(ValidationFailed) as refused:
        check(IDENTIFICATION, "probeImage.faceDetectorResourceId", "abacus")
    assert refused.value.status == 400
    listed = "cpu, gpu, any, accurate_cpu, accurate_gpu, accurate_any"
    assert refused.value.errors == {"probeImage.faceDetectorResourceId": [f"'abacus' is not one of {listed}"]}
    assert listed in refused.value.detail
    with pytest.raises(ValidationFailed) as refused:
        check(CAMERA, "faceSaveStrategy", "Sometimes")
    assert "FirstFace (alone or joined by ', ')" in refused.value.detail


def test_none_switches_a_step_off() -> None:
    assert not runs("none") and not runs("None_remote")
    assert runs("cpu") and runs(None)
