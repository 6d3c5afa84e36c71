"""One stream's face pipeline (a camera's, or a video record's): frame -> faces -> tracklets ->
stored records and events.

Per analysed frame: JPEG-encode it (off the loop), detect and extract (shared.analysis), search the
templates in every watchlist, hand the faces to the tracker, then per tracklet keep the first
and best face (the stream's faceSaveStrategy), count the members' votes and announce a match
once per tracklet and member. A tracklet that ends (no face for the timeout) stores its best
face, announces its leader if not yet, or a no-match, and completes.

The work is split in two: `prepare` (encoding, detection, extraction, search: several frames may
be there at once, as a video record's are) and `track` (the tracker and what follows, one frame
at a time in frame order). Frames and sweeps (expiry without new frames) take the same lock:
one stream's state changes in one task at a time. Where each frame is searched (`look`,
regions.py) is asked in frame order: for a camera's frame in `prepare`, for a video record's
beforehand, ahead of its tracking. A camera's and a video record's faces get age and gender only
when they are stored or announced (`defer_attributes`), not on every frame.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

import asyncpg
import msgspec
import numpy as np

from services.camera_ingest import analysis, cameras, records
from services.camera_ingest import payloads as p
from services.camera_ingest.decoder import SampledFrame
from services.camera_ingest.identity import Hit, Identity
from services.camera_ingest.image_store import ImageStore, Written
from services.camera_ingest.preview import Marked, Previews, marked
from services.camera_ingest.regions import Look, Narrowing
from services.camera_ingest.tracker import Detection, Track, Tracker, TrackerConfig
from shared import subjects
from shared.analysis import Analysed, Analysis, analyse, extract_request
from shared.bus import Bus
from shared.face_fields import OnFrame, female_probability, stored_fields
from shared.imaging import header_size
from shared.liveness import event_check, liveness_wanted, spoof_result
from shared.messages import events as ev
from shared.messages import faces as wire
from shared.messages import matcher as m
from shared.messages.cameras import Camera, CameraSpoofDetectorConfig, VideoFaceDetectorConfig
from shared.messages.setup import FaceFeaturesConfigFeaturesConfig, FeaturesConfig, VideoDataStorageConfig
from shared.runtime import ServiceContext
from shared.setup import Followed
from shared.smartface_values import runs

log = logging.getLogger(__name__)

CONFIG_TTL_S = 5.0  # a stream's detector or storage settings apply within this long
# A deferred request (StreamSession.attributes): age and gender, nothing the frame's gave.
ATTRIBUTES_ONLY = partial(
    wire.FaceFeaturesConfig, face_mask=False, yaw_angle=False, pitch_angle=False, roll_angle=False, sharpness=False,
    brightness=False, template=False,
)  # fmt: skip


@dataclass(frozen=True)
class Sighting:
    """A tracklet's face as a match of one member: what announcing it needs (the member's names,
    labels and privacy, the watchlist the event names), as the search answered them."""

    face: p.SeenFace
    member: m.MatchedMember
    watchlist: m.MatchedWatchlist


@dataclass
class Tracklet:
    """What the pipeline keeps about a live tracklet."""

    id: str
    appeared: datetime
    appeared_ms: int
    last: datetime
    last_ms: int
    first: p.SeenFace
    best: p.SeenFace
    latest: p.SeenFace
    identity: Identity[Sighting]
    keep_images: bool = True  # False once a member whose privacy forbids it was matched
    stored: bool = False


def detector_config(c: VideoFaceDetectorConfig) -> wire.FaceDetectorConfig:
    return wire.FaceDetectorConfig(
        min_face_size=c.min_face_size, max_face_size=max(c.min_face_size, c.max_face_size),
        max_faces=min(1000, max(1, c.max_faces)), confidence_threshold=c.confidence_threshold,
    )  # fmt: skip


@dataclass(frozen=True)
class SaveStrategy:
    """SmartFace's faceSaveStrategy ("FirstFace, BestFace" by default): which faces to store."""

    first: bool
    best: bool
    every: bool

    @classmethod
    def parse(cls, text: str) -> SaveStrategy:
        t = text.lower()
        every = "all" in t
        first = "first" in t
        return cls(first=first, best="best" in t or not (first or every), every=every)


@dataclass(frozen=True)
class AnalysisSettings:
    """What a stream's face pipeline follows: a camera's settings or a video record's."""

    detector: wire.FaceDetectorConfig
    detects: bool  # faceDetectorResourceId is not "none"
    image_quality: int
    redetection_ms: int
    template_generation_ms: int
    save: SaveStrategy
    save_frames: bool
    spoof_ids: tuple[str, ...] = ()
    spoof_config: CameraSpoofDetectorConfig | None = None
    match: bool = True  # search the watchlists (a record's matchingConfig.matchDetectedFaces)
    max_candidates: int = analysis.MAX_CANDIDATES
    preview_max_dimension: int = 0  # a camera's live preview size; 0: no preview (video records)

    @classmethod
    def of_camera(cls, camera: Camera) -> AnalysisSettings:
        return cls(
            detector=detector_config(camera.face_detector_config), detects=runs(camera.face_detector_resource_id),
            image_quality=camera.image_quality, redetection_ms=camera.redetection_time,
            template_generation_ms=camera.template_generation_time,
            save=SaveStrategy.parse(camera.face_save_strategy), save_frames=camera.save_frame_image_data,
            spoof_ids=tuple(camera.spoof_detector_resource_ids), spoof_config=camera.spoof_detector_config,
            preview_max_dimension=camera.preview_max_dimension,
        )  # fmt: skip

    @property
    def liveness(self) -> tuple[bool, bool]:
        """(distant, nearby): the checks spoofDetectorResourceIds ask for."""
        return liveness_wanted(list(self.spoof_ids), strict=False)


# Reads a stream's settings (None: the stream is gone).
SettingsLoader = Callable[[asyncpg.Connection, str], Awaitable[AnalysisSettings | None]]


async def camera_settings(conn: asyncpg.Connection, camera_id: str) -> AnalysisSettings | None:
    camera = await cameras.get(conn, camera_id)
    return AnalysisSettings.of_camera(camera) if camera is not None else None


def spoof_check(extracted: wire.ExtractedFace, settings: AnalysisSettings) -> ev.SpoofCheck | None:
    """A stream face's liveness as the events carry it, None when the camera's
    spoofDetectorResourceIds ask for no check (thresholds: its spoofDetectorConfig)."""
    distant, nearby = settings.liveness
    if not (distant or nearby) or settings.spoof_config is None:
        return None
    result = spoof_result(extracted, settings.spoof_config, distant, nearby)
    return event_check(result, distant, nearby)


@dataclass(frozen=True)
class Prepared:
    """A frame after `prepare`: its JPEG, its faces and their candidates, ready for `track`."""

    settings: AnalysisSettings
    jpeg: bytes
    found: Analysis
    candidates: dict[int, list[m.Candidate]]  # by id() of the face
    deferred: wire.FaceFeaturesConfig | None = None  # asked of the faces once stored or announced


async def publish_camera_event(bus: Bus, kind: ev.CameraEventKind, camera_id: str, payload: msgspec.Struct) -> None:
    """One camera event of `kind` (ev.FACE_CREATED...) on its subject, with its SmartFace topic."""
    await bus.publish_event(ev.subject(kind, camera_id), payload, headers=ev.headers(kind))


@dataclass
class StreamSession:
    """One stream's tracklets: a camera's (its settings from `cameras`) or a video record's."""

    ctx: ServiceContext
    camera_id: str  # the stream id: a camera's or a video record's
    images: ImageStore
    tracker: Tracker
    confirm_votes: int = 2
    load_settings: SettingsLoader = camera_settings
    tracklets: dict[str, Tracklet] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    started: float = field(default_factory=time.monotonic)
    _settings: AnalysisSettings | None = None
    _settings_at: float = 0.0
    frames_in_flight: int = 0  # frames in process() now
    frame_taken_at: float = float("-inf")  # when process() last took a frame (monotonic)
    # The Setup's Features (shared/setup.py), followed by camera_ingest's service; None: all on.
    setup_features: Followed[FaceFeaturesConfigFeaturesConfig] | None = None
    previews: Previews | None = None  # live previews of cameras (whoever watches)
    # Setup/DataStorage/Video, followed by camera_ingest's service; None: `All`.
    setup_video: Followed[VideoDataStorageConfig] | None = None
    # A camera's: where each frame is searched (regions.py); None: every frame whole.
    narrowing: Narrowing | None = None
    # Cameras' and video records': age and gender only for the faces stored or announced
    # (`attributes`), not for every face of every frame (their model costs as much as the template's).
    defer_attributes: bool = False
    looked_at: float | None = None  # the time of the last frame `look` was asked for
    tracked_at: float | None = None  # and of the last frame `track` took

    @classmethod
    def create(
        cls,
        ctx: ServiceContext,
        camera_id: str,
        images: ImageStore,
        timeout_s: float,
        confirm_votes: int,
        load_settings: SettingsLoader = camera_settings,
        setup_features: Followed[FaceFeaturesConfigFeaturesConfig] | None = None,
        previews: Previews | None = None,
        setup_video: Followed[VideoDataStorageConfig] | None = None,
        narrow: bool = False,
        defer_attributes: bool = False,
    ) -> StreamSession:
        tracker = Tracker(TrackerConfig(timeout_s=timeout_s))
        return cls(
            ctx, camera_id, images, tracker, confirm_votes, load_settings,
            setup_features=setup_features, previews=previews, setup_video=setup_video,
            narrowing=Narrowing() if narrow else None, defer_attributes=defer_attributes,
        )  # fmt: skip

    def switches(self) -> FeaturesConfig:
        """Which face attributes are computed and stored now."""
        return self.setup_features.value.face_features_config if self.setup_features else analysis.ALL_ON

    def stores_data(self) -> bool:
        """Setup/DataStorage/Video `All`: what the camera sees is stored (and its database
        notifications sent); `None`: nothing is, only match.found and match.missed are announced."""
        return self.setup_video is None or self.setup_video.value.storage_mode == "All"

    async def settings(self) -> AnalysisSettings | None:
        if self._settings is None or time.monotonic() - self._settings_at > CONFIG_TTL_S:
            async with self.ctx.db.acquire() as conn:
                self._settings = await self.load_settings(conn, self.camera_id)
            self._settings_at = time.monotonic()
        return self._settings

    def position_ms(self, frame: SampledFrame) -> int:
        if frame.stream_time_s is not None:
            return int(frame.stream_time_s * 1000)
        return int((time.monotonic() - self.started) * 1000)

    @property
    def quiet(self) -> bool:
        """No tracklet is live: everything seen so far is complete and stored."""
        return not self.tracker.tracks and not self.tracklets

    # --- per frame ---

    async def process(self, frame: SampledFrame, bodies: Sequence[Marked] = ()) -> None:
        """One sampled frame; `bodies`: its pedestrians and objects, boxed on the preview too."""
        self.frames_in_flight += 1
        self.frame_taken_at = time.monotonic()
        try:
            await self.track(frame, await self.prepare(frame, bodies))
        finally:
            self.frames_in_flight -= 1

    async def look(self, frame: SampledFrame, *, ahead_of_tracking: bool = False) -> Look:
        """Where to search `frame` (regions.py; the whole of it where the stream does not narrow),
        asked once per frame in frame order. A camera's frame asks after the previous one's
        tracking; a video record's ahead of it, as its frames are prepared several at once: the
        tracker is then behind by the frames still in the pipeline (`ahead_of_tracking`), and its
        tracklets are looked for as if it were not (`ahead`). Motion is between consecutive
        sampled frames either way."""
        if self.narrowing is None:
            return Look(whole=True)
        at = frame.captured_at.timestamp()
        looked_at, self.looked_at = self.looked_at, at
        # Copies: a record's tracker moves on (`track`) while the regions are worked out.
        live = list(self.tracker.tracks.values())
        if ahead_of_tracking and looked_at is not None and self.tracked_at is not None and self.tracked_at < looked_at:
            tracks = [ahead(t, looked_at - self.tracked_at) for t in live]
        else:
            tracks = [copy.copy(t) for t in live]
        return await self.ctx.run_blocking(self.narrowing.look, at, frame.image, tracks, self.tracker.config.timeout_s)

    async def prepare(
        self, frame: SampledFrame, bodies: Sequence[Marked] = (), look: Look | None = None
    ) -> Prepared | None:
        """Encode, detect, extract and search (frames may be here at once); None when the stream
        is gone or analyses nothing (faceDetectorResourceId "none": sweeps end its tracklets).
        `look`: where to search, asked beforehand in frame order (`look`); None: asked here (a
        camera's frames come one at a time, after the previous one's tracking)."""
        settings = await self.settings()
        if settings is None or not settings.detects:
            if settings is not None:
                await self._preview(frame, settings, list(bodies))
            return None
        at = frame.captured_at.timestamp()
        if look is None:
            look = await self.look(frame)
        deferred = None
        if look.nothing:  # a still scene, nobody tracked, no full detection due
            jpeg, found = b"", Analysis(width=frame.image.shape[1], height=frame.image.shape[0], faces=[])
        else:
            jpeg = await self.ctx.run_blocking(frame.jpeg, settings.image_quality)
            features = analysis.features(*settings.liveness, self.switches())
            if self.defer_attributes and (features.age or features.gender):
                deferred = ATTRIBUTES_ONLY(age=features.age, gender=features.gender)
                features = msgspec.structs.replace(features, age=False, gender=False)
            wanted = None
            if settings.template_generation_ms > settings.redetection_ms:
                # Templates less often than detection: a face the boxes follow gets one that often.
                every_s = settings.template_generation_ms / 1000
                wanted = lambda d: self.tracker.template_due(at, d.box, every_s)  # noqa: E731
            found = await analyse(
                self.ctx.bus, jpeg, settings.detector, features, wanted=wanted, regions=look.regions,
                region_face_sizes=look.face_sizes,
            )  # fmt: skip
        with_templates = [f for f in found.faces if f.extracted.template is not None] if settings.match else []
        model = with_templates[0].extracted.template_model if with_templates else ""
        templates = [f.extracted.template or b"" for f in with_templates]
        candidates = await analysis.search(self.ctx.bus, templates, model, settings.max_candidates)
        by_face = dict(zip((id(f) for f in with_templates), candidates, strict=True))
        faces = [marked(f.detected.box, by_face.get(id(f), [])) for f in found.faces]
        await self._preview(frame, settings, [*faces, *bodies])
        return Prepared(settings, jpeg, found, by_face, deferred)

    async def _preview(self, frame: SampledFrame, settings: AnalysisSettings, marks: list[Marked]) -> None:
        """The frame with its boxes to whoever watches the camera's preview."""
        if self.previews is not None and settings.preview_max_dimension > 0:
            await self.previews.offer(
                self.ctx, self.camera_id, frame.captured_at, frame.image, marks, settings.preview_max_dimension
            )

    async def track(self, frame: SampledFrame, prepared: Prepared | None) -> None:
        """The tracker's part, in frame order: end what the frame's time ends, then follow, store
        and announce its faces."""
        at = frame.captured_at.timestamp()
        self.tracked_at = at
        if prepared is None:
            return
        settings, found = prepared.settings, prepared.found
        async with self.lock:
            for track in self.tracker.expire(at):
                await self.finish(track)
            if not found.faces:
                return
            ref = p.FrameRef(
                id=str(uuid.uuid4()), camera_id=self.camera_id, at=frame.captured_at,
                position_ms=self.position_ms(frame), width=found.width, height=found.height,
                jpeg=prepared.jpeg if settings.save_frames else None,
            )  # fmt: skip
            detections = [
                Detection(f.detected.box, np.frombuffer(f.extracted.template, "<f4") if f.extracted.template else None)
                for f in found.faces
            ]
            assigned = self.tracker.assign(at, detections)
            for face, (track, started) in zip(found.faces, assigned, strict=True):
                await self.add_face(
                    track, started, face, ref, len(found.faces), prepared.candidates.get(id(face), []),
                    settings.save, spoof_check(face.extracted, settings) if face.was_extracted else None,
                    prepared.deferred if face.was_extracted else None,
                )  # fmt: skip

    async def add_face(
        self,
        track: Track,
        started: bool,
        face: Analysed,
        ref: p.FrameRef,
        faces_on_frame: int,
        candidates: list[m.Candidate],
        strategy: SaveStrategy,
        spoof: ev.SpoofCheck | None = None,
        deferred: wire.FaceFeaturesConfig | None = None,
    ) -> None:
        state = self.tracklets.get(track.id)
        change = face.detected.face_area - state.latest.analysed.detected.face_area if state else 0.0
        seen = p.SeenFace(
            id=str(uuid.uuid4()), frame=ref, analysed=face, processed_at=datetime.now(UTC), spoof=spoof,
            fields=msgspec.structs.asdict(stored_fields(face, OnFrame(faces_on_frame, change), self.switches())),
            pending=deferred,
        )  # fmt: skip
        if state is None:
            state = Tracklet(
                id=track.id, appeared=ref.at, appeared_ms=ref.position_ms, last=ref.at, last_ms=ref.position_ms,
                first=seen, best=seen, latest=seen, identity=Identity(self.confirm_votes),
            )  # fmt: skip
            self.tracklets[track.id] = state
        else:
            state.last, state.last_ms, state.latest = ref.at, ref.position_ms, seen
            if seen.rank > state.best.rank:
                state.best = seen
        if (started and strategy.first) or strategy.every:
            await self.store(state, seen)
        # Each candidate names one watchlist, the first it passed in by id (analysis.search).
        state.identity.add(
            [Hit(c.member.id, w.id, c.score, Sighting(seen, c.member, w)) for c in candidates for w in c.watchlists],
            searched=face.extracted.template is not None,
        )
        hit = state.identity.confirmed()
        if hit is not None:
            await self.announce(state, hit)

    # --- storing and announcing ---

    async def store(self, state: Tracklet, seen: p.SeenFace) -> None:
        """Store a face (its frame and tracklet first, when not yet) and announce it (not at all
        while Setup/DataStorage/Video is `None`)."""
        if seen.stored or not self.stores_data():
            return
        await self.attributes(seen)
        keep_crop = state.keep_images and bool(seen.analysed.detected.crop)
        written: list[Written] = []
        # Marked stored only once the transaction commits: a rolled-back write leaves no row.
        new_tracklet, new_frame = not state.stored, not seen.frame.stored
        try:
            async with self.ctx.db.acquire() as conn, conn.transaction():
                if new_tracklet:
                    await records.insert_tracklet(conn, state.id, self.camera_id, state.appeared, state.appeared_ms)
                if new_frame:
                    image_id = None
                    if seen.frame.jpeg is not None and state.keep_images:
                        size = (seen.frame.width, seen.frame.height)
                        image_id = await self.images.save(conn, self.camera_id, "frame", size, seen.frame.jpeg, written)
                    await records.insert_frame(
                        conn, seen.frame.id, self.camera_id, image_id, seen.frame.at, seen.frame.position_ms
                    )
                if keep_crop:
                    side = crop_side(seen.analysed.detected.crop)
                    seen.image_id = await self.images.save(
                        conn, self.camera_id, "crop", (side, side), seen.analysed.detected.crop, written
                    )
                fields = {**seen.fields, "processed_at": seen.processed_at.isoformat()}
                extracted = seen.analysed.extracted
                seen.created_at = await records.insert_face(
                    conn, seen.id, self.camera_id, state.id, seen.frame.id, seen.image_id, fields,
                    extracted.template, extracted.template_model,
                )  # fmt: skip
        except asyncpg.ForeignKeyViolationError:  # the tracklet or frame was deleted via the API
            log.info("camera %s: tracklet %s was deleted while live; face not stored", self.camera_id, state.id)
            await self.images.discard(written)
            return
        except Exception:
            await self.images.discard(written)
            raise
        state.stored = seen.frame.stored = seen.stored = True
        await self.publish(ev.FACE_CREATED, p.face_created(seen, state.id))
        if not seen.analysed.was_extracted:  # detected only (templateGenerationTime): state New, no template
            return
        await self.publish(ev.FACE_EXTRACTED, p.face_extracted(seen, state.id))
        liveness = p.liveness_result(seen, state.id)
        if liveness is not None:
            await self.publish(ev.LIVENESS_RESULT, liveness)

    async def attributes(self, seen: p.SeenFace) -> None:
        """The face's age and gender where its stream deferred them (`defer_attributes`), before
        it is stored or announced: one extractor request for its crop (the model and the crop
        are those the frame's request would have used: the same values)."""
        if seen.pending is None:
            return
        if seen.analysed.detected.crop:
            request = extract_request([seen.analysed.detected], seen.pending)
            reply = await self.ctx.bus.request(subjects.EXTRACTOR_EXTRACT, request, wire.ExtractResponse)
            if reply.faces:
                seen.fields.update(age=reply.faces[0].age, gender=female_probability(reply.faces[0]))
        seen.pending = None

    async def announce(self, state: Tracklet, hit: Hit[Sighting]) -> None:
        """Announce (and store) a match, with the member and watchlist as its search found them."""
        seen, member = hit.face.face, hit.face.member
        if not member.privacy.save_matched_images and state.keep_images:
            state.keep_images = False
            async with self.ctx.db.acquire() as conn:
                await records.drop_tracklet_images(conn, state.id)
            await self.images.sweep()
        await self.store(state, seen)
        await self.attributes(seen)
        crop = seen.analysed.detected.crop if member.privacy.include_matched_image_in_events else None
        match = p.match_found(seen, state.id, hit.score, member, hit.face.watchlist, crop or None)
        await self.publish(ev.MATCH_FOUND, match)
        if seen.stored:
            await self.store_match(match)

    async def store_match(self, match: ev.MatchResultNotification) -> None:
        """Store the announced match result, then announce that (`match.stored`)."""
        try:
            async with self.ctx.db.acquire() as conn:
                created = await records.insert_match_result(
                    conn, msgspec.to_builtins(p.match_stored(match, match.created_at))
                )
        except asyncpg.ForeignKeyViolationError:  # the tracklet or face was deleted via the API
            log.info("camera %s: tracklet %s was deleted while live; match not stored", self.camera_id,
                     match.tracklet_id)  # fmt: skip
            return
        await self.publish(ev.MATCH_STORED, p.match_stored(match, created))

    async def finish(self, track: Track) -> None:
        """The tracklet ended: store its best face, decide, complete."""
        state = self.tracklets.pop(track.id, None)
        if state is None:
            return
        settings = await self.settings()
        strategy = settings.save if settings else SaveStrategy(False, True, False)
        if strategy.best or not state.stored:  # every tracklet keeps at least one face
            await self.store(state, state.best)
        hit = state.identity.final()
        if hit is not None:
            await self.announce(state, hit)
        # The face the events name must be a stored one: the best, else the first.
        face = state.best if state.best.stored else state.first
        if not state.identity.matched:
            await self.attributes(face)
            crop = face.analysed.detected.crop if state.keep_images else None
            await self.publish(ev.MATCH_MISSED, p.match_missed(face, state.id, crop or None))
        async with self.ctx.db.acquire() as conn:
            stamps = await records.close_tracklet(conn, state.id, state.last, state.last_ms)
        if stamps is None:
            return
        await self.publish(
            ev.TRACKLET_COMPLETED,
            p.tracklet_completed(state.id, self.camera_id, state.appeared, state.last, state.appeared_ms,
                                 state.last_ms, *stamps),
        )  # fmt: skip
        # The grouping service clusters tracklets by their faces' mean template (Facegate's event).
        summary = p.tracklet_summary(state.id, self.camera_id, state.appeared, state.last, track.mean_template(),
                                     track.faces, face)  # fmt: skip
        if summary is not None:
            await self.ctx.bus.publish_event(subjects.TRACKLET_SUMMARISED.subject(self.camera_id), summary)

    async def publish(self, kind: ev.CameraEventKind, payload: msgspec.Struct) -> None:
        await publish_camera_event(self.ctx.bus, kind, self.camera_id, payload)

    # --- without frames ---

    async def sweep(self) -> None:
        """End the tracklets not seen for the timeout although no frame came (the person left
        while the stream stalled, or no face is in view: frames with no face still expire)."""
        # While frames flow, each frame ends tracklets by its own capture time. The wall clock
        # runs ahead of capture times by the analysis time, so a sweep then would end a tracklet
        # whose next frame is still being analysed (one pass split in two on a loaded machine).
        flowing = time.monotonic() - self.frame_taken_at < self.tracker.config.timeout_s
        if self.frames_in_flight or flowing:
            return
        async with self.lock:
            for track in self.tracker.expire(time.time()):
                await self.finish(track)

    async def close(self) -> None:
        """The stream stopped: every live tracklet ends now."""
        async with self.lock:
            for track in self.tracker.close_all():
                try:
                    await self.finish(track)
                except Exception:  # the others must still end
                    log.exception("camera %s: ending tracklet %s failed", self.camera_id, track.id)


def ahead(track: Track, behind: float) -> Track:
    """`track` as the tracker would hold it `behind` seconds later had it followed the frames
    still in the pipeline (a video record's, analysed ahead of its tracking): its box moved on
    by its velocity, seen that much later. Where to look for its face then widens by one
    sampling interval (regions.around), not by the time the tracker is behind: that face is
    also where the picture changed if it moved off its course (a walker turning), and the next
    full detection finds it if it stopped, within the bound narrowing keeps (regions.py)."""
    return dataclasses.replace(track, box=track.moved(behind), last_at=track.last_at + behind)


def crop_side(crop: bytes) -> int:
    """The side of the detector's square face chip, read from its JPEG header."""
    size = header_size(crop)
    return size[0] if size else 0
