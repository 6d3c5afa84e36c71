"""Test helpers for the GraphQL API (the session cluster runs it: `Cluster.graphql_url`): queries
over HTTP and subscriptions over a WebSocket."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import nats

from shared.messages import events as ev


def query(
    base: str, document: str, variables: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """POST a document; its `data` (the test fails on any error)."""
    body = {"query": document, "variables": variables or {}}
    r = httpx.post(f"{base}/graphql/", json=body, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert "errors" not in answer, answer["errors"]
    return dict(answer["data"])


class Subscriber:
    """One GraphQL subscription over a WebSocket, in either sub-protocol:
    `graphql-transport-ws` (the graphql-ws library) or `graphql-ws` (Apollo's older one)."""

    START = {"graphql-transport-ws": "subscribe", "graphql-ws": "start"}
    DATA = {"graphql-transport-ws": "next", "graphql-ws": "data"}

    def __init__(
        self, base: str, protocol: str, document: str, variables: dict[str, Any] | None = None,
        credentials: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        self.url = base.replace("http://", "ws://") + "/graphql/"
        self.protocol, self.document, self.variables = protocol, document, variables or {}
        self.credentials = credentials or {}  # the connection_init payload: Authorization, X-API-Key
        self.socket: Any = None

    async def __aenter__(self) -> Subscriber:
        from websockets.asyncio.client import connect

        self.socket = await connect(self.url, subprotocols=[self.protocol])  # type: ignore[list-item]
        assert self.socket.subprotocol == self.protocol
        await self._send({"type": "connection_init", "payload": self.credentials})
        while (await self._receive())["type"] != "connection_ack":
            pass
        payload = {"query": self.document, "variables": self.variables}
        await self._send({"id": "1", "type": self.START[self.protocol], "payload": payload})
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.socket.close()

    async def next(self, timeout: float) -> dict[str, Any]:
        """The next result's payload ({"data": ...} or {"errors": ...})."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self._receive()
                if message["type"] in (self.DATA[self.protocol], "error"):
                    return dict(message["payload"]) if isinstance(message["payload"], dict) else {
                        "errors": message["payload"]}  # fmt: skip

    async def _send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def _receive(self) -> dict[str, Any]:
        return dict(json.loads(await self.socket.recv()))


def match_event(camera: str, member: str, frame_timestamp_us: int) -> ev.MatchResultNotification:
    """A match.found event as camera_ingest publishes it, with made-up values."""
    now = datetime.now(UTC)
    known: dict[str, Any] = dict(
        id=str(uuid.uuid4()), type="MATCH", stream_id=camera, face_area=0.05, face_size=80.0, face_order=1,
        faces_on_frame_count=1, face_area_change=0.0, face_mask_status="NoMask", created_at=now,
        tracklet_id=str(uuid.uuid4()), face_id=str(uuid.uuid4()), template_quality=200, face_quality=5000,
        score=80, watchlist_member_id=member, watchlist_member_full_name=f"Full {member}", watchlist_id="entrance",
        frame_timestamp_microseconds=frame_timestamp_us, left_eye_x=10.0, left_eye_y=10.0, right_eye_x=30.0,
        right_eye_y=10.0,
    )  # fmt: skip
    unknown: dict[str, Any] = {name: None for name in ev.MatchResultNotification.__struct_fields__ if name not in known}
    return ev.MatchResultNotification(**known, **unknown)


async def publish(nc: nats.NATS, event: ev.MatchResultNotification) -> None:
    """Publish a match.found event on its camera's subject, as camera_ingest does."""
    subject = ev.subject(ev.MATCH_FOUND, event.stream_id)
    await nc.publish(subject, msgspec.json.encode(event), headers=ev.headers(ev.MATCH_FOUND))
    await nc.flush()
