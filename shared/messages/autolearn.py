"""Watchlist auto-learn (services/cleanup/autolearn.py): what one run learnt and replaced, as its
event (`facegate.evt.autolearn.completed.<runId>`) and its reply to `AUTO_LEARN_RUN` carry it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

AutoLearnTrigger = Literal["schedule", "request"]
# SmartFace's autolearn clusters: a face with a mask learns into `Mask`, one without into `NoMask`.
Cluster = Literal["NoMask", "Mask"]


class LearntFace(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A face a run added to a member (or took away to make room for a better one). Its id is the
    camera face's id (the member face keeps it, as AddFaceFromSystem does)."""

    member_id: str
    face_id: str
    cluster: Cluster
    quality: int  # the face's quality (0..10000): what makes one learnt face better than another
    score: int | None = None  # the camera's match score (None for a face taken away)


class AutoLearnCompleted(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One auto-learn run: the match results created after `since` (the previous run's `until`;
    null for the first run) up to `until` were looked at, for `members` members."""

    run_id: str
    instance: str
    trigger: AutoLearnTrigger
    started_at: datetime
    finished_at: datetime
    since: datetime | None
    until: datetime
    members: int
    learnt: list[LearntFace] = []
    replaced: list[LearntFace] = []
