"""A video record's events: its state (SmartFace's `videoRecords.update` with the
VideoRecordNotificationStateChangedDTO payload), the progress of its analysis (the
ProgressMessageDTO payload) and its deletion (Facegate's)."""

from __future__ import annotations

import asyncpg

from shared import subjects
from shared.bus import Bus
from shared.messages import events as ev
from shared.messages.video_records import (
    ProgressMessage,
    ProgressStatus,
    VideoRecordDeleted,
    VideoRecordNotificationStateChanged,
    state_enum,
)

STATE_TOPIC = "videoRecords.update"


async def state_changed(bus: Bus, row: asyncpg.Record) -> None:
    """The record (a `video_records` row) was created or changed, or its analysis changed state."""
    payload = VideoRecordNotificationStateChanged(
        id=str(row["id"]), state=state_enum(row["state"]), created_at=row["created_at"], updated_at=row["updated_at"]
    )
    subject = subjects.VIDEO_RECORD_CHANGED.subject(str(row["id"]))
    await bus.publish_event(subject, payload, headers={ev.TOPIC_HEADER: STATE_TOPIC})


async def progressed(bus: Bus, record_id: str, new_frames: int, left: int, status: ProgressStatus) -> None:
    """`new_frames` more sampled frames analysed, about `left` to go."""
    payload = ProgressMessage(id=record_id, num_new_frames=new_frames, num_unproc_frames=left, status=status)
    await bus.publish_event(subjects.VIDEO_RECORD_PROGRESSED.subject(record_id), payload)


async def deleted(bus: Bus, record_id: str) -> None:
    await bus.publish_event(subjects.VIDEO_RECORD_DELETED.subject(record_id), VideoRecordDeleted(id=record_id))
