"""The cleanup's pure parts: TimeSpans, the daily schedule, the Setup values' shapes, the
Features switches as searches and camera faces apply them, and what the cleanup reads of the
matcher's snapshot manifest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from services.camera_ingest import analysis as camera_analysis
from services.cleanup import schedule
from services.cleanup.report import Totals
from services.cleanup.retention import Policy
from services.gateway.analysis_config import allowed
from services.matcher.cache import Manifest
from shared import setup, timespan
from shared.analysis import Analysed
from shared.face_fields import OnFrame, stored_fields, switched_off
from shared.gallery_log import SnapshotHead
from shared.image_storage import image_id_of
from shared.messages.identification import FaceFeaturesConfig
from shared.messages.setup import (
    CleanupCompleted,
    CleanupRemoved,
    DbCleanupConfigUpdateRequest,
    FeaturesConfig,
    FeaturesConfigUpdateRequest,
)
from tests.unit.faces import detected, extracted


@pytest.mark.parametrize(
    "text,span,canonical",
    [
        ("02:00:00", timedelta(hours=2), "02:00:00"),
        ("2:30", timedelta(hours=2, minutes=30), "02:30:00"),
        ("7", timedelta(days=7), "7.00:00:00"),
        ("1.12:00:00", timedelta(days=1, hours=12), "1.12:00:00"),
        ("00:00:01.5", timedelta(seconds=1, milliseconds=500), "00:00:01.5000000"),
        ("23:59:59", timedelta(hours=23, minutes=59, seconds=59), "23:59:59"),
    ],
)
def test_timespans_read_and_write_as_dotnet_does(text: str, span: timedelta, canonical: str) -> None:
    assert timespan.parse(text) == span
    assert timespan.canonical(text) == canonical


@pytest.mark.parametrize("bad", ["24:00:00", "12:60", "noon", "1.02:00:00", "-01:00:00", ""])
def test_a_time_of_day_is_checked(bad: str) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(
            {"enabled": True, "maxFramesCount": None, "maxImageDataAge": None, "cleanupStart": bad,
             "deleteSql": None, "deleteMatchResults": None},
            DbCleanupConfigUpdateRequest,
        )  # fmt: skip


def test_the_daily_run_is_due_once_its_start_time_passed_after_the_baseline() -> None:
    now = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    assert schedule.latest_start("02:00:00", now) == datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    assert schedule.latest_start("11:00:00", now) == datetime(2026, 3, 9, 11, 0, tzinfo=UTC)
    assert schedule.latest_start(None, now) == datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
    # Last run yesterday at 02:00: today's 02:00 has passed, so it is due (a missed run catches up).
    assert schedule.due("02:00:00", datetime(2026, 3, 9, 2, 0, tzinfo=UTC), now)
    # Changed (or run) after today's start: tomorrow's, not now.
    assert not schedule.due("02:00:00", datetime(2026, 3, 10, 9, 0, tzinfo=UTC), now)
    assert schedule.due("10:00:00", datetime(2026, 3, 10, 9, 59, 59, tzinfo=UTC), now)


def test_null_flags_of_db_cleanup_are_smartfaces_defaults() -> None:
    config = setup.DB_CLEANUP.default
    assert config.enabled is False and config.delete_sql is False and config.delete_match_results is False
    policy = Policy.of(msgspec.structs.replace(config, max_image_data_age=3, delete_sql=None), by_age=False)
    assert policy == Policy(max_frames=None, max_age_days=None, delete_rows=False, delete_match_results=False)


def test_every_setting_default_fits_its_shape_and_keys_are_unique() -> None:
    assert len({s.key for s in setup.SETTINGS}) == len(setup.SETTINGS)
    for s in setup.SETTINGS:
        assert s.decode(msgspec.to_builtins(s.default)) == s.default
        assert s.changed == f"facegate.evt.setup.changed.{s.key}"
    with pytest.raises(ValueError, match="db_cleanup"):
        setup.DB_CLEANUP.decode({"enabled": "maybe"})


def test_features_left_out_or_null_are_on() -> None:
    request = msgspec.convert(
        {"age": False, "gender": True, "faceMask": True, "noseTip": True, "yawAngle": True, "pitchAngle": True,
         "rollAngle": False, "sharpness": None},
        FeaturesConfigUpdateRequest,
    )  # fmt: skip
    switches = request.switches()
    assert switches.age is False and switches.roll_angle is False
    assert switches.sharpness and switches.glass_status and switches.gender


OFF = msgspec.structs.replace(FeaturesConfig.all_on(), age=False, yaw_angle=False, face_mask=False)


def test_a_search_computes_what_both_the_request_and_the_setup_leave_on() -> None:
    asked = FaceFeaturesConfig(gender=False)
    both = allowed(asked, OFF)
    assert not (both.age or both.gender or both.yaw_angle or both.face_mask)
    assert both.pitch_angle and both.brightness
    assert allowed(None, FeaturesConfig.all_on()) == FaceFeaturesConfig()


def test_camera_faces_skip_the_models_and_fields_switched_off() -> None:
    wanted = camera_analysis.features(True, False, OFF)
    assert wanted.template and wanted.distant_liveness and not wanted.nearby_liveness
    assert not wanted.age and wanted.gender and not wanted.yaw_angle and not wanted.face_mask
    fields = stored_fields(Analysed(detected(), extracted()), OnFrame(1, 0.0))
    off = switched_off(fields, OFF)
    assert (off.age, off.yaw_angle, off.face_mask_confidence, off.face_mask_status) == (None, None, None, "Unknown")
    assert (off.gender, off.pitch_angle, off.quality) == (fields.gender, fields.pitch_angle, fields.quality)


def test_the_cleanup_reads_position_and_database_of_the_matchers_manifest() -> None:
    manifest = Manifest(format=1, database="db-1", params="p", seq=42, generation="g", files=[], saved_at=0.0,
                        saved_by="matcher-0")  # fmt: skip
    head = msgspec.msgpack.decode(msgspec.msgpack.encode(manifest), type=SnapshotHead)
    assert (head.seq, head.database) == (42, "db-1")


def test_an_image_file_names_its_image() -> None:
    image = "0b7d3a4e-59a2-4b8f-9d1c-2f8a4e6b1c3d"
    assert str(image_id_of(f"cam/2026-01-02/{image}.jpg")) == image
    assert image_id_of("cam/2026-01-02/.x.jpg.partial") is None
    assert image_id_of("cam/2026-01-02/notes.txt") is None


def test_totals_add_runs_and_render_metrics() -> None:
    totals = Totals("cleanup-0")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    run = CleanupCompleted(
        run_id="r1", instance="cleanup-0", trigger="maxFramesCount", started_at=at,
        finished_at=at + timedelta(seconds=2), removed=CleanupRemoved(frames=3, images=6),
    )  # fmt: skip
    totals.add(run, batch_ms=12.5)
    totals.add(msgspec.structs.replace(run, run_id="r2", trigger="maintenance", removed=CleanupRemoved(blobs=1)), 1.0)
    stats = totals.stats()
    assert stats.runs == {"maxFramesCount": 1, "maintenance": 1} and stats.last_run_id == "r2"
    assert stats.removed == CleanupRemoved(frames=3, images=6, blobs=1) and stats.longest_batch_ms == 12.5
    text = totals.metrics_text()
    assert 'facegate_cleanup_removed_total{instance="cleanup-0",kind="frames"} 3' in text
    assert 'facegate_cleanup_runs_total{instance="cleanup-0",trigger="maintenance"} 1' in text
    assert 'facegate_cleanup_leader{instance="cleanup-0"} 0' in text
