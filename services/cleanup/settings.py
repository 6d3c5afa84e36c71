"""cleanup's own settings: `FACEGATE_CLEANUP_<FIELD>` in the environment (README, Retention).

Where the images are is camera_ingest's setting, read from the same variables
(shared/image_storage.py); the matcher's Redis cache key likewise (shared/gallery_log.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import msgspec

from shared.settings import from_environment

PREFIX = "FACEGATE_CLEANUP_"

Seconds = Annotated[float, msgspec.Meta(gt=0)]


class CleanupSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Each field is `FACEGATE_CLEANUP_<FIELD>`."""

    # How often the replica holding the lease checks the frame count (maxFramesCount) and the
    # schedule (cleanupStart); a DbCleanup change wakes it at once.
    check_interval_s: Seconds = 60.0
    # How often a standby replica tries to take the lease (failover time after the holder dies).
    lease_retry_s: Seconds = 5.0
    # Rows per transaction: each batch holds its row locks for milliseconds, so camera ingest
    # never waits long (benchmarks/cleanup.py measures the longest pause).
    batch: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1000
    # Frames younger than this are kept whatever DbCleanup says: a live tracklet may still store
    # a face on one of them.
    keep_recent_s: Annotated[float, msgspec.Meta(ge=0)] = 600.0
    # Images, files and objects younger than this are never orphans: a write may be in flight.
    orphan_grace_s: Annotated[float, msgspec.Meta(ge=0)] = 3600.0
    # How often the gallery's change log is pruned, expired blobs removed and files of deleted
    # images swept, whether DbCleanup is enabled or not.
    maintenance_interval_s: Seconds = 3600.0
    # Change-log rows younger than this are kept, whatever the matcher replicas have applied.
    changes_keep_s: Annotated[float, msgspec.Meta(ge=0)] = 3600.0
    # How often the stored DbCleanup value is re-read (its change announcement also arrives at once).
    setup_refresh_s: Seconds = 60.0


def load_cleanup_settings(environ: Mapping[str, str] | None = None) -> CleanupSettings:
    """CleanupSettings from `FACEGATE_CLEANUP_*`; exit 1 with a readable message if invalid."""
    return from_environment(CleanupSettings, PREFIX, "README, Retention", environ)
