"""Read-your-writes for searches through any gateway and any matcher replica.

Every gallery write answers with `seq`, its position in the change log, and the matcher publishes
the newest position on the gallery-changed event after each commit. The gateway keeps the highest
position it has seen (from its own writes at once, from other gateways' writes through the event)
and sends it as `min_seq` with every search; a matcher replica answers only after it has applied
the log that far. So a search that follows a delete, an unlink or a register, from the same client
or another, never sees the gallery as it was before that write.
"""

from __future__ import annotations

import logging

import msgspec
from nats.aio.msg import Msg

from shared.bus import Bus
from shared.messages.matcher import GalleryChanged
from shared.subjects import GALLERY_CHANGED_FILTER

log = logging.getLogger(__name__)


class GalleryFreshness:
    """The newest gallery change this gateway knows of (one per app, in its state)."""

    def __init__(self) -> None:
        self.seq = 0

    def saw(self, seq: int) -> None:
        self.seq = max(self.seq, seq)

    async def follow(self, bus: Bus) -> None:
        """Learn of other gateways' writes from the gallery-changed events."""

        async def on_change(msg: Msg) -> None:
            try:
                self.saw(msgspec.json.decode(msg.data, type=GalleryChanged).seq)
            except msgspec.DecodeError as exc:
                log.warning("unreadable gallery-changed event: %s", exc)

        await bus.nc.subscribe(GALLERY_CHANGED_FILTER, cb=on_change)
