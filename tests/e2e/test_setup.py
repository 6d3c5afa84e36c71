"""SmartFace's Setup values on the real cluster: each one's default, a PUT that round-trips (GET
answers what PUT stored), bad values as 400s naming the field, and a change applied at once
without restarts (Features: Detect stops answering an attribute switched off)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest

from shared import setup
from tests.support import assert_problem, photo_b64, wait_until


def default(setting: setup.Setting[Any]) -> dict[str, Any]:
    value: dict[str, Any] = msgspec.to_builtins(setting.default)
    return value


# path, its Setting, a valid PUT body, what GET then answers (None: the body itself)
ROUND_TRIPS: list[tuple[str, setup.Setting[Any], dict[str, Any], dict[str, Any] | None]] = [
    (
        "DbCleanup",
        setup.DB_CLEANUP,
        {"enabled": True, "maxFramesCount": 1000, "maxImageDataAge": 14, "cleanupStart": "2:30",
         "deleteSql": True, "deleteMatchResults": None},
        {"enabled": True, "maxFramesCount": 1000, "maxImageDataAge": 14, "cleanupStart": "02:30:00",
         "deleteSql": True, "deleteMatchResults": None, "cleanupAmount": None},
    ),
    (
        "SearchSessionsCleanup",
        setup.SEARCH_SESSIONS_CLEANUP,
        {"enabled": False, "maxItemsCount": 50, "maxSessionAge": "7", "interval": "0:15"},
        {"enabled": False, "maxItemsCount": 50, "maxSessionAge": "7.00:00:00", "interval": "00:15:00"},
    ),
    (
        "Watchlists/AutoLearn",
        setup.AUTO_LEARN,
        {"enabled": True, "executionStartTime": "03:00:00", "maxAutoLearnFacesCount": 10, "selectionThreshold": 70,
         "maskedSelectionThreshold": 55, "noFaceMaskConfidenceThreshold": -1000, "faceMaskConfidenceThreshold": 1500},
        None,
    ),
    (
        "Features",
        setup.FEATURES,
        {"faceFeaturesConfig": {"age": False, "gender": True, "faceMask": True, "noseTip": False, "yawAngle": True,
                                "pitchAngle": True, "rollAngle": False, "sharpness": None, "glassStatus": False}},
        {"faceFeaturesConfig": {"age": False, "gender": True, "faceMask": True, "noseTip": False, "yawAngle": True,
                                "pitchAngle": True, "rollAngle": False, "sharpness": True, "brightness": True,
                                "tintedGlasses": True, "heavyFrame": True, "glassStatus": False}},
    ),
    (
        "Preview",
        setup.PREVIEW,
        {"faceBoundingBoxColor": "#ff0000", "pedestrianBoundingBoxColor": "#0f0", "objectBoundingBoxColor": None},
        None,
    ),
    ("DataStorage/Video", setup.VIDEO_STORAGE, {"storageMode": "None"}, None),
]  # fmt: skip


@pytest.fixture
def client(api: httpx.Client) -> Iterator[httpx.Client]:
    """The API, with every Setup value back at its default afterwards (other tests rely on them)."""
    try:
        yield api
    finally:
        for path, setting, _, _ in ROUND_TRIPS:
            body = default(setting)
            if setting is setup.DB_CLEANUP:
                body.pop("cleanupAmount")
            assert api.put(f"/api/v1/Setup/{path}", json=body).status_code == 200


@pytest.mark.parametrize("path,setting,body,stored", ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_a_setup_value_has_its_default_and_round_trips(
    client: httpx.Client, path: str, setting: setup.Setting[Any], body: dict[str, Any], stored: dict[str, Any] | None
) -> None:
    url = f"/api/v1/Setup/{path}"
    r = client.get(url)
    assert r.status_code == 200 and r.json() == default(setting), r.text
    r = client.put(url, json=body)
    assert r.status_code == 200, r.text
    assert r.json() == (stored or body)
    assert client.get(url).json() == (stored or body)


DB_CLEANUP = {"enabled": True, "maxFramesCount": None, "maxImageDataAge": None, "cleanupStart": None,
              "deleteSql": None, "deleteMatchResults": None}  # fmt: skip
AUTO_LEARN = {"enabled": True, "executionStartTime": None, "maxAutoLearnFacesCount": 5, "selectionThreshold": 50}
FEATURES = {"age": True, "gender": True, "faceMask": True, "noseTip": True, "yawAngle": True, "pitchAngle": True,
            "rollAngle": True}  # fmt: skip
PREVIEW = {"faceBoundingBoxColor": "#ffffff", "pedestrianBoundingBoxColor": "#000000"}

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("DbCleanup", {**DB_CLEANUP, "maxFramesCount": 0}, "maxFramesCount"),
    ("DbCleanup", {**DB_CLEANUP, "maxImageDataAge": -3}, "maxImageDataAge"),
    ("DbCleanup", {**DB_CLEANUP, "cleanupStart": "25:00:00"}, "cleanupStart"),
    ("DbCleanup", {**DB_CLEANUP, "cleanupStart": "1.02:00:00"}, "cleanupStart"),
    ("DbCleanup", {**DB_CLEANUP, "deleteSql": "yes"}, "deleteSql"),
    ("DbCleanup", {k: v for k, v in DB_CLEANUP.items() if k != "enabled"}, "enabled"),
    ("SearchSessionsCleanup", {"enabled": True, "maxItemsCount": 0, "maxSessionAge": None, "interval": None},
     "maxItemsCount"),
    ("SearchSessionsCleanup", {"enabled": True, "maxItemsCount": None, "maxSessionAge": "00:00:00", "interval": None},
     "maxSessionAge"),
    ("SearchSessionsCleanup", {"enabled": True, "maxItemsCount": None, "maxSessionAge": None, "interval": "often"},
     "interval"),
    ("Watchlists/AutoLearn", {**AUTO_LEARN, "selectionThreshold": 101}, "selectionThreshold"),
    ("Watchlists/AutoLearn", {**AUTO_LEARN, "maxAutoLearnFacesCount": 0}, "maxAutoLearnFacesCount"),
    ("Watchlists/AutoLearn", {**AUTO_LEARN, "executionStartTime": "noon"}, "executionStartTime"),
    ("Watchlists/AutoLearn", {**AUTO_LEARN, "noFaceMaskConfidenceThreshold": 3000,
                              "faceMaskConfidenceThreshold": 1000}, "noFaceMaskConfidenceThreshold"),
    ("Features", {"faceFeaturesConfig": {**FEATURES, "age": "no"}}, "age"),
    ("Features", {"faceFeaturesConfig": {k: v for k, v in FEATURES.items() if k != "yawAngle"}}, "yawAngle"),
    ("Features", {"age": True}, "faceFeaturesConfig"),
    ("Preview", {**PREVIEW, "faceBoundingBoxColor": "red"}, "faceBoundingBoxColor"),
    ("Preview", {**PREVIEW, "objectBoundingBoxColor": "#12345"}, "objectBoundingBoxColor"),
    ("DataStorage/Video", {"storageMode": "Some"}, "storageMode"),
    ("DataStorage/Video", {"storageMode": None}, "storageMode"),  # "None" is a mode, null is not
    ("DataStorage/Video", {}, "storageMode"),
    ("DataStorage/Video", {"storageMode": "none"}, "storageMode"),  # SmartFace's spelling only
    ("SearchSessionsCleanup", {"maxItemsCount": None, "maxSessionAge": None, "interval": None}, "enabled"),
    ("Watchlists/AutoLearn", {**AUTO_LEARN, "maskedSelectionThreshold": -1}, "maskedSelectionThreshold"),
    ("Watchlists/AutoLearn", {**AUTO_LEARN, "faceMaskConfidenceThreshold": 10001}, "faceMaskConfidenceThreshold"),
    ("Watchlists/AutoLearn", {k: v for k, v in AUTO_LEARN.items() if k != "selectionThreshold"},
     "selectionThreshold"),
    ("Watchlists/AutoLearn", {**AUTO_LEARN, "maxAutoLearnFacesCount": 101}, "maxAutoLearnFacesCount"),
    ("Preview", {"pedestrianBoundingBoxColor": "#000000"}, "faceBoundingBoxColor"),
    ("Preview", {**PREVIEW, "pedestrianBoundingBoxColor": None}, "pedestrianBoundingBoxColor"),
]  # fmt: skip


@pytest.mark.parametrize("path,body,field", BAD, ids=[f"{p}-{f}" for p, _, f in BAD])
def test_a_bad_setup_value_is_a_400_naming_the_field(
    client: httpx.Client, path: str, body: dict[str, Any], field: str
) -> None:
    before = client.get(f"/api/v1/Setup/{path}").json()
    problem = assert_problem(client.put(f"/api/v1/Setup/{path}", json=body), 400)
    # The field's path is the key; a missing nested field is named under its parent's key.
    assert any(field in key or field in " ".join(errors) for key, errors in problem["errors"].items()), problem
    assert client.get(f"/api/v1/Setup/{path}").json() == before  # nothing stored


def detected(client: httpx.Client) -> tuple[object, object, object]:
    """Age, roll angle and gender of the face Detect finds in a photo."""
    (face,) = client.post("/api/v1/Faces/Detect", json={"image": {"data": photo_b64("img1.jpg")}}).json()["faces"]
    return face["age"], face["rollAngle"], face["gender"]


def test_features_switched_off_are_not_computed_and_come_back_on(client: httpx.Client) -> None:
    """Applied at once by every gateway (no restart): age and roll switched off are null in Detect's
    answer, gender left on is not; switched on again, they are back."""
    assert None not in detected(client)
    off = {**FEATURES, "age": False, "rollAngle": False}
    assert client.put("/api/v1/Setup/Features", json={"faceFeaturesConfig": off}).status_code == 200
    wait_until(lambda: detected(client)[:2] == (None, None), 10, "age and roll switched off")
    assert detected(client)[2] is not None
    assert client.put("/api/v1/Setup/Features", json={"faceFeaturesConfig": FEATURES}).status_code == 200
    wait_until(lambda: None not in detected(client), 10, "age and roll back on")


def test_data_storage_video_answers_smartfaces_modes_never_null(client: httpx.Client) -> None:
    """`storageMode` is SmartFace's VideoDataStorageMode, the strings `None` and `All` (`All` by
    default), in answers and in the served OpenAPI document alike; null is no mode."""
    assert client.get("/api/v1/Setup/DataStorage/Video").json() == {"storageMode": "All"}
    schema = client.get("/swagger/v1/swagger.json").json()["components"]["schemas"]
    config = schema["VideoDataStorageConfig"]
    assert config["required"] == ["storageMode"]
    mode = config["properties"]["storageMode"]
    if "$ref" in mode:
        mode = schema[mode["$ref"].rsplit("/", 1)[1]]
    assert sorted(mode["enum"]) == ["All", "None"] and mode.get("type") == "string", mode
    for value in ("None", "All"):
        assert client.put("/api/v1/Setup/DataStorage/Video", json={"storageMode": value}).json() == {
            "storageMode": value
        }
        assert client.get("/api/v1/Setup/DataStorage/Video").json() == {"storageMode": value}
