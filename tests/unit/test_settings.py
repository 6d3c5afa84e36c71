"""Settings come from FACEGATE_* variables; bad ones stop the process with a clear message."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
import pytest

from shared import subjects
from shared.settings import Settings, from_environment, load_settings


def test_defaults_and_environment() -> None:
    settings = load_settings({"FACEGATE_GATEWAY_PORT": "9000", "FACEGATE_REQUEST_TIMEOUT": "2.5", "OTHER": "x"})
    assert settings.gateway_port == 9000 and settings.request_timeout == 2.5
    assert settings == Settings(gateway_port=9000, request_timeout=2.5)


def test_invalid_value_exits_with_message(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        load_settings({"FACEGATE_GATEWAY_PORT": "eighty"})
    assert stopped.value.code == 1
    assert "gateway_port" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        load_settings({"FACEGATE_EXECUTION_PROVIDER": "tpu"})


class Knobs(msgspec.Struct, frozen=True, kw_only=True):
    depth: Annotated[int, msgspec.Meta(ge=1)] = 3
    ratio: float = 0.5
    mode: Literal["fast", "exact"] = "fast"


def test_any_struct_loads_from_its_prefix() -> None:
    environ = {
        "FACEGATE_KNOBS_DEPTH": "7",
        "FACEGATE_KNOBS_RATIO": "",  # empty: the default
        "FACEGATE_KNOBS_UNKNOWN": "x",  # another tool's variable
        "FACEGATE_MODE": "exact",  # not this prefix
    }
    assert from_environment(Knobs, "FACEGATE_KNOBS_", "docs/knobs.md", environ) == Knobs(depth=7)
    assert from_environment(Knobs, "FACEGATE_KNOBS_", "docs/knobs.md", {}) == Knobs()


@pytest.mark.parametrize("variable, value", [("FACEGATE_KNOBS_DEPTH", "0"), ("FACEGATE_KNOBS_MODE", "slow")])
def test_any_struct_with_a_bad_value_exits_naming_it(
    variable: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        from_environment(Knobs, "FACEGATE_KNOBS_", "docs/knobs.md", {variable: value})
    assert stopped.value.code == 1
    message = capsys.readouterr().err
    assert variable.removeprefix("FACEGATE_KNOBS_").lower() in message
    assert variable in message and "docs/knobs.md" in message


def test_subject_tokens_are_safe() -> None:
    assert subjects.MEMBER_CREATED.subject("a.b c*>") == "facegate.evt.member.created.a_b_c__"
    assert subjects.WATCHLIST_GET == "facegate.rpc.matcher.watchlist.get"


def test_event_kinds_build_filter_and_recognise_their_subjects() -> None:
    deleted = subjects.CAMERA_DELETED.subject("c-1")
    assert deleted == "facegate.evt.camera.deleted.c-1"
    assert subjects.CAMERA_DELETED.filter == "facegate.evt.camera.deleted.*"
    assert subjects.CAMERA_DELETED.matches(deleted) and not subjects.CAMERA_UPDATED.matches(deleted)
    assert subjects.event_id(deleted) == "c-1"
    assert subjects.MEMBER_EVENTS_FILTER == "facegate.evt.member.*.*"
    assert subjects.MATCH_FOUND.address("cameraId") == "facegate.evt.match.found.{cameraId}"
    assert subjects.GALLERY_CHANGED == "facegate.evt.gallery.changed.templates"
