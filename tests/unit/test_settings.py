"""Settings come from FACEGATE_* variables; bad ones stop the process with a clear message."""

from __future__ import annotations

import pytest

from shared import subjects
from shared.settings import Settings, load_settings


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
