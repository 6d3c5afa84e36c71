"""A video record's analysis without the cluster or the models.

Its frames are searched as a camera's are (services/camera_ingest/regions.py): the record runner
asks where to look in frame order before each frame's analysis, and its tracklets, a few frames
behind the frames asked about, are looked for where their velocity took them (session.ahead)
instead of in margins grown by the time they lag. Its faces get age and gender when they are
stored or announced, not on every frame (StreamSession.defer_attributes), as a camera's do."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import numpy as np

from services.camera_ingest import payloads as p
from services.camera_ingest.decoder import SampledFrame
from services.camera_ingest.image_store import ImageStore
from services.camera_ingest.pipeline import FramePipeline
from services.camera_ingest.regions import Look, area
from services.camera_ingest.session import AnalysisSettings, Prepared, SaveStrategy, StreamSession, ahead
from services.camera_ingest.settings import IngestSettings, VideoSettings
from services.camera_ingest.tracker import Box, Detection, Track
from services.camera_ingest.video_decoder import Ended, Item
from services.camera_ingest.video_runner import RecordRunner
from services.camera_ingest.videos import RecordSpec
from shared import subjects
from shared.analysis import Analysed
from shared.messages import faces as wire
from shared.messages import matcher as m
from shared.runtime import ServiceContext
from tests.fakebus import FakeBus
from tests.unit.faces import detected, extracted

T = TypeVar("T")
START = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
W, H = 1280, 720
INTERVAL = 0.2


class Context:
    """What `StreamSession.look`, `prepare` and `attributes` need of the service's context."""

    def __init__(self) -> None:
        self.bus = FakeBus()

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)


def session() -> StreamSession:
    return StreamSession.create(
        cast(ServiceContext, Context()), "record", cast(ImageStore, None), 2.0, 2, narrow=True
    )


def frame(i: int, image: np.ndarray | None = None) -> SampledFrame:
    pixels = image if image is not None else np.full((H, W, 3), 96, np.uint8)
    return SampledFrame("record", i, START + timedelta(seconds=i * INTERVAL), i * INTERVAL, pixels)


def inside(b: Box, region: Box) -> bool:
    return region[0] <= b[0] and region[1] <= b[1] and b[2] <= region[2] and b[3] <= region[3]


def test_ahead_moves_a_tracklet_on_by_its_velocity_and_leaves_the_tracker_alone() -> None:
    track = Track(id="t", started_at=0.0, last_at=1.0, box=(100, 100, 200, 200), velocity=(500.0, -50.0))
    moved = ahead(track, 0.6)
    assert moved.box == (400, 70, 500, 170) and moved.last_at == 1.6
    assert track.box == (100, 100, 200, 200) and track.last_at == 1.0


def looks_behind_the_tracker(ahead_of_tracking: bool) -> list[Look]:
    """A still picture; a face walking right at 250 px/s tracked at 0 s and 0.2 s, then the
    frames up to 1.0 s asked about before any of them is tracked (a record's frames in flight)."""
    s = session()
    looks = []
    for i in range(2):  # tracked: the tracker knows the walker up to 0.2 s
        looks.append(asyncio.run(s.look(frame(i), ahead_of_tracking=ahead_of_tracking)))
        at = START.timestamp() + i * INTERVAL
        s.tracker.assign(at, [Detection((300 + 50 * i, 200, 400 + 50 * i, 300))])
        asyncio.run(s.track(frame(i), None))  # (nothing prepared: only the time it took)
    for i in range(2, 5):  # in flight
        looks.append(asyncio.run(s.look(frame(i), ahead_of_tracking=ahead_of_tracking)))
    return looks


def test_a_records_tracklets_are_looked_for_where_they_went_while_frames_were_in_flight() -> None:
    looks = looks_behind_the_tracker(ahead_of_tracking=True)
    assert looks[0].whole and not any(look.whole for look in looks[1:])
    walker_at_08 = (500.0, 200.0, 600.0, 300.0)  # 250 px/s from (350, 200) at 0.2 s
    assert any(inside(walker_at_08, r) for r in looks[4].regions), looks[4]
    # Without moving them on, the margins grow with the time the tracker is behind: more to read.
    lagging = looks_behind_the_tracker(ahead_of_tracking=False)
    assert sum(area(r) for r in looks[4].regions) < 0.6 * sum(area(r) for r in lagging[4].regions)
    # A camera's tracker is never behind: the frame after the one it took is the same either way.
    assert looks[1] == lagging[1]


class Session:
    """What RecordRunner._feed asks of a session: where to look, then the analysis."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int, bool]] = []

    async def look(self, f: SampledFrame, *, ahead_of_tracking: bool = False) -> Look:
        self.asked.append(("look", f.index, ahead_of_tracking))
        await asyncio.sleep(0.01 * (3 - f.index % 3))  # answers that take a while, in any order
        return Look(whole=False, regions=[(float(f.index), 0.0, 100.0, 100.0)])

    async def prepare(self, f: SampledFrame, look: Look | None = None) -> Prepared | None:
        assert look is not None and look.regions[0][0] == f.index, (f.index, look)
        self.asked.append(("prepare", f.index, False))
        return None


def test_the_record_runner_asks_where_to_look_in_frame_order_before_each_frames_analysis() -> None:
    async def feed() -> list[int]:
        runner = RecordRunner(
            RecordSpec("record", "walk.mp4", 200), "owner", cast(ServiceContext, Context()), IngestSettings(),
            VideoSettings(), cast(ImageStore, None),
        )  # fmt: skip
        frames: asyncio.Queue[Item] = asyncio.Queue()
        for i in range(6):
            frames.put_nowait(frame(i))
        frames.put_nowait(Ended(1200))
        prepared: asyncio.Queue[Any] = asyncio.Queue()
        fake = Session()
        await runner._feed(frames, prepared, cast(StreamSession, fake))
        order = []
        while not prepared.empty():
            item = prepared.get_nowait()
            if isinstance(item, tuple):
                await item[1]
                order.append(item[0].index)
        looks = [i for kind, i, ahead_of in fake.asked if kind == "look" and ahead_of]
        assert looks == list(range(6)), fake.asked
        for i in range(6):  # each frame's analysis starts after its look was answered
            assert fake.asked.index(("look", i, True)) < fake.asked.index(("prepare", i, False))
        return order

    assert asyncio.run(feed()) == list(range(6))


def record_session(ctx: Context) -> StreamSession:
    async def settings(_conn: Any, _id: str) -> AnalysisSettings:
        return AnalysisSettings(
            detector=wire.FaceDetectorConfig(), detects=True, image_quality=90, redetection_ms=200,
            template_generation_ms=200, save=SaveStrategy.parse("FirstFace, BestFace"), save_frames=True,
        )  # fmt: skip

    s = StreamSession.create(
        cast(ServiceContext, ctx), "record", cast(ImageStore, None), 2.0, 2, settings, defer_attributes=True
    )
    s._settings, s._settings_at = asyncio.run(settings(None, "record")), 1e18  # (no database: never reloaded)
    return s


def test_a_records_frames_ask_the_extractor_for_templates_and_its_stored_faces_for_age_and_gender() -> None:
    ctx = Context()
    face = detected(crop=b"the crop")
    ctx.bus.reply(subjects.DETECTOR_DETECT, wire.DetectResponse(width=W, height=H, faces=[face], detector="d"))
    ctx.bus.reply(subjects.EXTRACTOR_EXTRACT, wire.ExtractResponse(faces=[extracted()]))
    ctx.bus.reply(subjects.TEMPLATE_SEARCH, m.SearchReply(results=[m.TemplateMatches(candidates=[])], seq=0))
    s = record_session(ctx)
    prepared = asyncio.run(s.prepare(frame(0)))
    assert prepared is not None and prepared.deferred is not None
    asked = cast(wire.ExtractRequest, ctx.bus.to(subjects.EXTRACTOR_EXTRACT)[0]).face_features_config
    assert asked.template and not asked.age and not asked.gender  # the frame's: no age/gender model
    assert prepared.deferred.age and prepared.deferred.gender and not prepared.deferred.template

    # A face about to be stored or announced: one request for its crop, age and gender only.
    ctx.bus.forget()
    ctx.bus.reply(subjects.EXTRACTOR_EXTRACT, wire.ExtractResponse(faces=[extracted(gender="Female")]))
    frame_ref = p.FrameRef(id="f", camera_id="record", at=START, position_ms=0, width=W, height=H, jpeg=None)
    seen = p.SeenFace(
        id="s", frame=frame_ref, analysed=Analysed(face, extracted(gender=None)), processed_at=START,
        fields={"age": None, "gender": None}, pending=prepared.deferred,
    )  # fmt: skip
    asyncio.run(s.attributes(seen))
    asyncio.run(s.attributes(seen))  # once only
    sent = cast(list[wire.ExtractRequest], ctx.bus.to(subjects.EXTRACTOR_EXTRACT))
    assert len(sent) == 1 and sent[0].crops == [b"the crop"], sent
    assert sent[0].face_features_config == prepared.deferred
    assert seen.fields == {"age": 31.0, "gender": 0.8} and seen.pending is None


def test_cameras_defer_age_and_gender_as_records_do() -> None:
    """A live camera's session (the pipeline's) computes age and gender only for the faces it
    stores or announces, as a record's does."""

    async def session() -> StreamSession:
        pipeline = FramePipeline(cast(ServiceContext, Context()), IngestSettings(), cast(ImageStore, object()))
        found = pipeline.session("camera")
        assert pipeline._sweeper is not None
        pipeline._sweeper.cancel()
        return found

    found = asyncio.run(session())
    assert found.defer_attributes and found.narrowing is not None


def test_a_session_that_does_not_defer_asks_every_attribute_at_once() -> None:
    ctx = Context()
    ctx.bus.reply(subjects.DETECTOR_DETECT, wire.DetectResponse(width=W, height=H, faces=[detected()], detector="d"))
    ctx.bus.reply(subjects.EXTRACTOR_EXTRACT, wire.ExtractResponse(faces=[extracted()]))
    ctx.bus.reply(subjects.TEMPLATE_SEARCH, m.SearchReply(results=[m.TemplateMatches(candidates=[])], seq=0))
    s = record_session(ctx)
    s.defer_attributes = False
    prepared = asyncio.run(s.prepare(frame(0)))
    assert prepared is not None and prepared.deferred is None
    asked = cast(wire.ExtractRequest, ctx.bus.to(subjects.EXTRACTOR_EXTRACT)[0]).face_features_config
    assert asked.template and asked.age and asked.gender
