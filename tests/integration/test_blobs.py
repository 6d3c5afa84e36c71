"""Payloads larger than one NATS message go through the JetStream object store."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from shared import blobs
from shared.bus import Bus
from shared.errors import RequestTimeout
from shared.settings import Settings
from tests.support import Servers


@pytest.fixture
async def bus(servers: Servers) -> AsyncIterator[Bus]:
    connected = await Bus.connect(Settings(nats_url=servers.nats_url), "test-blobs")
    yield connected
    await connected.close()


async def test_small_payloads_travel_inline(bus: Bus) -> None:
    data = os.urandom(1000)
    blob = await blobs.wrap(bus, data)
    assert blob.data == data and blob.ref is None
    assert await blobs.unwrap(bus, blob) == data


async def test_payloads_above_max_payload_go_by_reference(bus: Bus) -> None:
    data = os.urandom(bus.nc.max_payload + 1)
    blob = await blobs.wrap(bus, data)
    assert blob.data is None and blob.ref
    assert await blobs.unwrap(bus, blob) == data
    await blobs.release(bus, blob)
    with pytest.raises(RequestTimeout):
        await blobs.unwrap(bus, blob)
    await blobs.release(bus, blob)  # releasing twice is harmless
