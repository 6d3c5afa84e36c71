"""The model whose templates the extractor makes now: what a SearchByTemplate compares with.

Asked of the extractor once a minute, not on every request: the answer changes only when the
extractor is redeployed with another model, and a template search then follows within the TTL.
Kept here rather than letting the matcher guess from its gallery: a gallery can hold templates
of several models (during a model change), and only the extractor knows which one is current.
"""

from __future__ import annotations

import time

from shared import subjects
from shared.bus import Bus, Empty
from shared.messages.faces import ModelInfo

TTL_S = 60.0


class TemplateModel:
    """The extractor's template model name (without version), cached for `TTL_S` (one per app,
    in its state)."""

    def __init__(self) -> None:
        self._name = ""
        self._at = float("-inf")

    async def name(self, bus: Bus) -> str:
        """The current model's name; asks the extractor when the cached one is older than TTL_S."""
        if time.monotonic() - self._at >= TTL_S:
            info = await bus.request(subjects.EXTRACTOR_MODEL, Empty(), ModelInfo)
            self._name, self._at = info.template_model.partition("@")[0], time.monotonic()
        return self._name
