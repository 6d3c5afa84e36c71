"""When a scheduled cleanup is due: at `cleanupStart` (a UTC time of day) each day.

A run is due once the latest start time that has passed is later than the baseline: the last
scheduled run, or the last change of DbCleanup when later (services/cleanup/scheduler.py). So a
replica that takes over after the start time catches up at once on a run nobody made, and
changing DbCleanup at 10:00 to start at 02:00 waits for tomorrow's 02:00 (as SmartFace does)
instead of running at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from shared import timespan


def start_time(cleanup_start: str | None) -> time:
    """The configured time of day (null: midnight UTC)."""
    offset = timespan.parse(cleanup_start) if cleanup_start else timedelta()
    return (datetime.min + offset).time()


def latest_start(cleanup_start: str | None, now: datetime) -> datetime:
    """The last moment, at or before `now`, at which the daily run was to start."""
    today = datetime.combine(now.astimezone(UTC).date(), start_time(cleanup_start), tzinfo=UTC)
    return today if today <= now else today - timedelta(days=1)


def due(cleanup_start: str | None, baseline: datetime, now: datetime) -> bool:
    """Whether a scheduled run is due at `now`, the last one (or change) at `baseline`."""
    return latest_start(cleanup_start, now) > baseline
