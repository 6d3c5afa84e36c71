"""The hand-off from ingest to analysis: every sampled frame goes through `process_sampled_frame`.

Today it only counts (the counts show in the camera's status and the service's $SRV.STATS).
The face pipeline plugs in here once the models and the matcher's template search exist:
publish the frame by reference as work for the detector, then extractor and matcher, and feed
the results to the tracker (issue 6, second half). No faces are invented meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.camera_ingest.decoder import SampledFrame


@dataclass
class CameraStats:
    """Counters of one camera's stream on this replica (owned by the event loop)."""

    decoded: int = 0
    sampled: int = 0
    dropped: int = 0  # sampled but replaced by a newer frame before the pipeline took it
    reconnects: int = 0
    last_frame_at: datetime | None = None
    width: int | None = None
    height: int | None = None


class FramePipeline:
    """What happens to a sampled frame."""

    async def process_sampled_frame(self, frame: SampledFrame, stats: CameraStats) -> None:
        """Analyse one sampled frame. For now: record that it was sampled (a `frame sampled`
        count, its time and size); detection, extraction, matching and tracking come here."""
        stats.sampled += 1
        stats.last_frame_at = frame.captured_at
        stats.height, stats.width = frame.image.shape[0], frame.image.shape[1]
