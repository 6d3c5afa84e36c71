"""Test helpers for the face pipeline: waiting for the detector and extractor, and a camera's
events read back from the JetStream events stream."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import nats
from nats.js.api import ConsumerConfig, DeliverPolicy

from shared import blobs, subjects
from shared.bus import Bus
from shared.errors import ServiceUnavailable
from shared.messages import faces as wire
from shared.messages.events import TOPIC_HEADER
from shared.settings import Settings


@dataclass(frozen=True)
class Event:
    subject: str
    topic: str | None
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        """`entity.verb`, e.g. `match.found`."""
        return ".".join(self.subject.split(".")[2:4])


async def _events(nats_url: str, camera_id: str) -> list[Event]:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
        sub = await js.pull_subscribe(f"facegate.evt.*.*.{camera_id}", stream="FACEGATE_EVENTS", config=config)
        out: list[Event] = []
        while True:
            try:
                msgs = await sub.fetch(100, timeout=0.5)
            except TimeoutError:  # nats' own, or asyncio's when the deadline ran out first: no more
                return out
            for msg in msgs:
                out.append(Event(msg.subject, (msg.headers or {}).get(TOPIC_HEADER), json.loads(msg.data)))
    finally:
        await nc.close()


def camera_events(nats_url: str, camera_id: str) -> list[Event]:
    """Every event of the camera kept by the events stream, in order."""
    return asyncio.run(_events(nats_url, camera_id))


async def _wait_workers(bus: Bus, timeout: float) -> None:
    """The detector and extractor register their endpoints only once their models are warm."""
    deadline = time.monotonic() + timeout
    for subject, probe, kind in (
        (subjects.DETECTOR_DETECT, wire.DetectRequest(image=blobs.Blob(data=b"x")), wire.DetectResponse),
        (subjects.EXTRACTOR_EXTRACT, wire.ExtractRequest(crops=[]), wire.ExtractResponse),
    ):
        while True:
            try:
                await bus.request(subject, probe, kind, timeout=10)
                break
            except ServiceUnavailable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
            except Exception:  # a typed error: the endpoint answers
                break


def wait_workers(nats_url: str, timeout: float = 180) -> None:
    async def run() -> None:
        bus = await Bus.connect(Settings(nats_url=nats_url, request_timeout=60), "test")
        try:
            await _wait_workers(bus, timeout)
        finally:
            await bus.close()

    asyncio.run(run())
