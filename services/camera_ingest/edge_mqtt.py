"""Retained MQTT messages to edge devices, through NATS's own MQTT listener (no second broker).

A retained message is kept by the listener (in JetStream) and handed to every device that
subscribes later, so a device that was off when its settings changed gets them when it comes
back. NATS-side publishes cannot be retained, hence an MQTT client here: camera_ingest connects
with its own NATS user (FACEGATE_EDGE_MQTT_URL: `mqtt://camera_ingest:<password>@nats:1883`, or
`mqtts://` for TLS). Publishing is rare (an API call, a gallery change), so each batch opens
its own connection: nothing to keep alive or reconnect.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

import aiomqtt

from shared.errors import ServiceUnavailable

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0


class EdgePublisher:
    """Publishes (topic, payload) batches as retained QoS 1 messages; an empty payload clears a
    topic's retained message (MQTT 3.1.1, 3.3.1.3)."""

    def __init__(self, url: str, name: str, ca_file: str = "") -> None:
        self.url, self.name, self.ca_file = url, name, ca_file
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def _client(self) -> aiomqtt.Client:
        parts = urlsplit(self.url)
        secure = parts.scheme == "mqtts"
        context = None
        if secure:
            context = ssl.create_default_context(cafile=self.ca_file or None)
        return aiomqtt.Client(
            parts.hostname or "127.0.0.1",
            parts.port or (8883 if secure else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            identifier=f"{self.name}-{uuid.uuid4().hex[:12]}",
            clean_session=True,
            timeout=CONNECT_TIMEOUT_S,
            tls_context=context,
        )

    async def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Retain each payload on its topic; 503 when the MQTT listener cannot be reached."""
        if not self.enabled:
            raise ServiceUnavailable(
                "Edge streams' MQTT is not configured (FACEGATE_EDGE_MQTT_URL); nothing can reach the devices."
            )
        if not messages:
            return
        async with self._lock:
            try:
                async with self._client() as client:
                    for topic, payload in messages:
                        await client.publish(topic, payload, qos=1, retain=True, timeout=CONNECT_TIMEOUT_S)
            except aiomqtt.MqttError as exc:
                log.warning("publishing to edge devices failed: %s", exc)
                raise ServiceUnavailable(f"NATS's MQTT listener cannot be reached now: {exc}") from None
