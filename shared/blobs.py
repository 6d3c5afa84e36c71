"""Large payloads by reference: an image bigger than one NATS message crosses the bus once, via
the JetStream object store, and the message carries only its name.

    blob = await blobs.wrap(bus, image)      # caller: inline when it fits, else stored
    image = await blobs.unwrap(bus, blob)    # worker
    await blobs.release(bus, blob)           # caller, when the request is done
"""

from __future__ import annotations

import contextlib
import uuid

import msgspec
from nats.js.errors import NotFoundError

from shared.bus import Bus
from shared.errors import RequestTimeout, ValidationFailed

# Room left in a message for the other fields and headers around the payload.
HEADROOM = 64 * 1024


class Blob(msgspec.Struct, frozen=True):
    """Bytes inline (`data`) or the name of an object in the blob store (`ref`)."""

    data: bytes | None = None
    ref: str | None = None


def inline_limit(bus: Bus) -> int:
    """The largest payload that travels inline on this connection."""
    return max(0, bus.nc.max_payload - HEADROOM)


async def wrap(bus: Bus, data: bytes, limit: int | None = None) -> Blob:
    """`data` inline when it fits (within `limit` bytes: a message carrying several blobs gives
    each a share), else stored."""
    if len(data) <= (inline_limit(bus) if limit is None else limit):
        return Blob(data=data)
    store = await bus.blob_store()
    name = uuid.uuid4().hex
    await store.put(name, data)
    return Blob(ref=name)


async def unwrap(bus: Bus, blob: Blob) -> bytes:
    if blob.data is not None:
        return blob.data
    if blob.ref is None:
        raise ValidationFailed("The request carries no payload.")
    store = await bus.blob_store()
    try:
        found = await store.get(blob.ref)
    except NotFoundError:
        # Only a request older than the blob TTL can get here.
        raise RequestTimeout(f"The payload {blob.ref} expired before it was processed.") from None
    return found.data or b""


async def release(bus: Bus, blob: Blob) -> None:
    """Delete a stored payload (inline ones need nothing); a missing one is already gone."""
    if blob.ref is None:
        return
    store = await bus.blob_store()
    with contextlib.suppress(NotFoundError):
        await store.delete(blob.ref)
