"""camera_ingest's own settings: `FACEGATE_CAMERA_<FIELD>` in the environment.

Kept beside the service (not in shared.settings) because only camera_ingest reads them; the
shared loader reads them (`from_environment`: bad values stop the process with a clear message).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec

from shared.image_storage import DEFAULT_IMAGE_BUCKET, DEFAULT_IMAGE_FOLDER
from shared.settings import from_environment
from shared.sources import DEFAULT_SCHEMES, SourcePolicy

PREFIX = "FACEGATE_CAMERA_"

Seconds = Annotated[float, msgspec.Meta(gt=0)]


class IngestSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Stream ownership, timeouts, reconnect backoff and tracking."""

    # A replica owns a camera while it renews the camera's lease in Redis; a dead replica's
    # cameras move to the others after at most this long (plus one scheduling round).
    lease_ttl_s: Annotated[float, msgspec.Meta(ge=1)] = 6.0
    # How often each replica renews its leases and re-reads the enabled cameras. Camera changes
    # also wake it at once through their events, so this bounds only failover and drift.
    schedule_interval_s: Seconds = 1.0
    # Opening a stream (connect, RTSP handshake, probing) and each read may take this long before
    # the stream counts as offline: a dead camera never hangs a decoder thread.
    open_timeout_s: Seconds = 10.0
    read_timeout_s: Seconds = 5.0
    # Reconnect after a drop or failure: first wait, doubled each failure up to the maximum;
    # back to the first wait once frames flowed again.
    backoff_initial_s: Seconds = 0.5
    backoff_max_s: Seconds = 30.0
    # FFmpeg decoder threads per stream. One per stream is the most streams per core: the
    # streams already run in parallel, one thread each.
    decoder_threads: Annotated[int, msgspec.Meta(ge=0, le=16)] = 1
    # Sampled frames waiting for the pipeline per camera; beyond this the oldest is dropped
    # (live video must not lag behind).
    frame_queue: Annotated[int, msgspec.Meta(ge=1, le=100)] = 2
    # A tracklet ends when none of its faces was seen for this long (then its no-match and
    # completed events go out). Longer than a few sampling intervals, so a missed detection or
    # a brief occlusion does not split one person into two tracklets.
    tracklet_timeout_s: Seconds = 2.0
    # Faces of a tracklet that must match a member before the match is announced (at the
    # tracklet's end one suffices): a single lucky frame does not name a passer-by.
    confirm_votes: Annotated[int, msgspec.Meta(ge=1, le=100)] = 2
    # Run the face pipeline (detector, extractor, matcher) on sampled frames. Off: ingest only
    # (what the decode benchmark measures).
    analyse_faces: bool = True
    # Where new face crops and frames are stored until the API changes it
    # (PUT /api/v1/Setup/DataStorage/Images): in Postgres, in files under image_folder (shared by
    # every replica: a ReadWriteMany volume in Kubernetes), or in the JetStream object store
    # image_bucket (replicated by NATS, nothing to mount).
    image_storage: Literal["Database", "Folder", "ObjectStore"] = "Database"
    # (cleanup reads the same two variables: shared/image_storage.py.)
    image_folder: str = DEFAULT_IMAGE_FOLDER
    image_bucket: str = DEFAULT_IMAGE_BUCKET
    # How often a replica removes the files/objects of deleted images and re-reads the storage
    # setting (a change also reaches every replica at once through NATS).
    image_sweep_s: Seconds = 30.0
    # Camera sources (shared/sources.py, docs/cameras.md "Camera sources"): the URL schemes a
    # source may have (rtsp, rtsps; add http, https for HTTP streams), and the networks a source
    # may reach although loopback, link-local or otherwise internal (comma-separated CIDRs, e.g.
    # 127.0.0.0/8,::1/128 for a camera simulator on this machine). Cloud metadata addresses only
    # by an entry that is exactly that address. Video records' URLs follow the same networks
    # (with all four schemes: video_sources.py).
    source_schemes: str = DEFAULT_SCHEMES
    source_allow_networks: str = ""

    def source_policy(self) -> SourcePolicy:
        return SourcePolicy.parse(self.source_schemes, self.source_allow_networks)


class VideoSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Video records: `FACEGATE_VIDEO_<FIELD>` in the environment."""

    # The folder of recorded files (mounted on every camera_ingest replica): a record whose source
    # is a path must name a file in it (absolute, or relative to it); anything outside it, after
    # symbolic links and '..' are resolved, is refused with a 400 and never opened. Empty: file
    # sources are refused (URLs still work).
    folder: str = ""
    # Sampled frames of one record in the face pipeline at once (encoding, detection, extraction
    # and search overlap; the tracker still takes them in order). More keeps more workers busy.
    frames_in_flight: Annotated[int, msgspec.Meta(ge=1, le=64)] = 4
    # Decoded frames waiting for the pipeline: the decoder waits while this many are queued, so a
    # long file never fills memory.
    frame_queue: Annotated[int, msgspec.Meta(ge=1, le=256)] = 8
    # FFmpeg decoder threads per record (0: FFmpeg decides).
    decoder_threads: Annotated[int, msgspec.Meta(ge=0, le=16)] = 2
    # How often a record's progress is stored and announced (progressMessage), and how often the
    # position a new owner would resume from is stored (only where no tracklet is live).
    progress_interval_s: Seconds = 1.0
    # A file whose frames end this much before the duration its container declares (and more
    # than 10 % of it) is truncated: the record ends in Error, with what it yielded kept.
    truncated_tolerance_s: Seconds = 2.0


class EdgeSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Edge streams: `FACEGATE_EDGE_<FIELD>` in the environment (docs/edge_streams.md)."""

    # NATS's MQTT listener with camera_ingest's NATS credentials, where it publishes the devices'
    # retained settings and watchlists: mqtt://camera_ingest:<password>@nats:1883 (mqtts:// for
    # TLS, verified against FACEGATE_TLS_CA_FILE). Empty: edge streams are stored and their
    # results read, but nothing is sent to devices (Settings/Synchronize answers 503).
    mqtt_url: str = ""
    # Watchlists are re-published after every gallery change; this often they are also checked
    # (a change event missed while no replica listened).
    resync_s: Annotated[float, msgspec.Meta(ge=1)] = 60.0


def load_edge_settings(environ: Mapping[str, str] | None = None) -> EdgeSettings:
    """EdgeSettings from `FACEGATE_EDGE_*`; exit 1 with a readable message if invalid."""
    return from_environment(EdgeSettings, "FACEGATE_EDGE_", "docs/edge_streams.md", environ)


def load_video_settings(environ: Mapping[str, str] | None = None) -> VideoSettings:
    """VideoSettings from `FACEGATE_VIDEO_*`; exit 1 with a readable message if invalid."""
    return from_environment(VideoSettings, "FACEGATE_VIDEO_", "docs/video_records.md", environ)


def load_ingest_settings(environ: Mapping[str, str] | None = None) -> IngestSettings:
    """IngestSettings from `FACEGATE_CAMERA_*`; exit 1 with a readable message if invalid."""
    settings = from_environment(IngestSettings, PREFIX, "docs/cameras.md", environ)
    try:
        settings.source_policy()
    except ValueError as exc:
        sys.stderr.write(f"facegate: invalid configuration: {PREFIX}SOURCE_*: {exc} (see docs/cameras.md)\n")
        raise SystemExit(1) from exc
    return settings
