"""Test helpers for the face pipeline: waiting for the detector and extractor, and a camera's
events read back from the JetStream events stream."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
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

FETCH_TIMEOUT_S = 10.0  # for events the stream already holds: only a stuck server takes this long
WORKER_POLL_S = 0.2  # a request to a subject nobody serves fails at once: polling is cheap
# Each read of a camera's events is a connection, a consumer and every event decoded, while the
# face pipeline under test shares the machine's cores: read no more often than this.
EVENTS_POLL_S = 0.5


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
        # The stream holds `pending` of the camera's events now: fetch exactly those, rather than
        # fetching until a fetch times out empty (which cost every poll of the events half a second).
        pending = (await sub.consumer_info()).num_pending or 0
        out: list[Event] = []
        while len(out) < pending:
            try:
                msgs = await sub.fetch(min(100, pending - len(out)), timeout=FETCH_TIMEOUT_S)
            except TimeoutError:  # nats' own, or asyncio's when the deadline ran out first
                raise AssertionError(
                    f"the events stream holds {pending} events of camera {camera_id} but delivered only "
                    f"{len(out)} within {FETCH_TIMEOUT_S:g} s"
                ) from None
            for msg in msgs:
                out.append(Event(msg.subject, (msg.headers or {}).get(TOPIC_HEADER), json.loads(msg.data)))
        return out
    finally:
        await nc.close()


def camera_events(nats_url: str, camera_id: str) -> list[Event]:
    """Every event of the camera kept by the events stream, in order."""
    return asyncio.run(_events(nats_url, camera_id))


def wait_events(
    nats_url: str, camera_id: str, done: Callable[[list[Event]], bool], timeout: float, what: str
) -> list[Event]:
    """Read the camera's events until `done(events)`; those events. Fails after `timeout` seconds
    naming `what` and the kinds of the events seen."""
    deadline = time.monotonic() + timeout
    while True:
        events = camera_events(nats_url, camera_id)
        if done(events):
            return events
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; events: {[e.kind for e in events]}")
        time.sleep(EVENTS_POLL_S)


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
            except ServiceUnavailable as exc:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{subject} did not answer within {timeout:g} s: {exc}") from None
                await asyncio.sleep(WORKER_POLL_S)
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
