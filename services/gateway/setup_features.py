"""Which face attributes searches compute: the Setup's Features, as this gateway knows them.

Asked of the cleanup service (which keeps the value) once at start, then followed through its
change announcements, so a search never waits for it. Until the first answer (cleanup not up
yet) every attribute is on, SmartFace's default; cleanup announces every value when it starts,
so a gateway that started first learns them then.
"""

from __future__ import annotations

import logging

import msgspec
from nats.aio.msg import Msg

from shared import subjects
from shared.bus import Bus, Empty
from shared.errors import FacegateError
from shared.messages.setup import FaceFeaturesConfigFeaturesConfig, FeaturesConfig
from shared.setup import FEATURES

log = logging.getLogger(__name__)

ASK_TIMEOUT_S = 2.0


class SetupFeatures:
    """The Setup's face features (one per app, in its state)."""

    def __init__(self) -> None:
        self.value: FeaturesConfig = FEATURES.default.face_features_config

    async def follow(self, bus: Bus) -> None:
        """Follow the announcements, then ask for the current value."""

        async def on_change(msg: Msg) -> None:
            try:
                self.value = msgspec.json.decode(msg.data, type=FaceFeaturesConfigFeaturesConfig).face_features_config
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                log.warning("unreadable Setup features announcement: %s", exc)

        await bus.nc.subscribe(FEATURES.changed, cb=on_change)
        try:
            answer = await bus.request(
                subjects.SETUP_FEATURES_GET, Empty(), FaceFeaturesConfigFeaturesConfig, timeout=ASK_TIMEOUT_S
            )
        except FacegateError as exc:  # cleanup not running yet: its start announces the value
            log.info("Setup features not known yet (%s); every attribute is on until cleanup announces them", exc)
            return
        self.value = answer.face_features_config
