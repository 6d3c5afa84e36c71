"""Replicas share the load through the queue group; no replica at all is a clear 503."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import nats

from tests.support import Cluster, wait_until


async def discover(nats_url: str, verb: str, service: str) -> list[dict[str, Any]]:
    """Collect the answers of every replica to a NATS service-discovery request."""
    nc = await nats.connect(nats_url)
    try:
        inbox = nc.new_inbox()
        sub = await nc.subscribe(inbox)
        await nc.publish(f"$SRV.{verb}.{service}", b"", reply=inbox)
        answers = []
        deadline = time.monotonic() + 0.7
        while time.monotonic() < deadline:
            try:
                msg = await sub.next_msg(timeout=max(0.01, deadline - time.monotonic()))
            except nats.errors.TimeoutError:
                break
            answers.append(json.loads(msg.data))
        return answers
    finally:
        await nc.close()


def served_requests(stats: dict[str, Any]) -> int:
    endpoints = stats.get("endpoints") or []
    return sum(int(e.get("num_requests", 0)) for e in endpoints if isinstance(e, dict))


def test_two_matcher_replicas_both_answer(cluster: Cluster) -> None:
    nats_url = cluster.servers.nats_url
    cluster.services.start("matcher", 1)
    try:
        wait_until(lambda: len(asyncio.run(discover(nats_url, "PING", "matcher"))) == 2, 30, "two matchers")
        before = {s["id"]: served_requests(s) for s in asyncio.run(discover(nats_url, "STATS", "matcher"))}
        with cluster.http() as client:
            for _ in range(60):
                assert client.get("/api/v1/Watchlists").status_code == 200
        after = {s["id"]: served_requests(s) for s in asyncio.run(discover(nats_url, "STATS", "matcher"))}
        assert len(after) == 2
        assert all(after[i] > before.get(i, 0) for i in after), (before, after)
        info = asyncio.run(discover(nats_url, "INFO", "matcher"))
        assert {e["subject"] for e in info[0]["endpoints"]} >= {"facegate.rpc.matcher.watchlist.list"}
    finally:
        cluster.services.stop_one("matcher", 1)


def test_no_matcher_is_503_not_a_hang(cluster: Cluster) -> None:
    cluster.services.stop_one("matcher", 0)
    try:
        with cluster.http() as client:
            started = time.monotonic()
            r = client.get("/api/v1/Watchlists")
            assert time.monotonic() - started < 5
            assert r.status_code == 503, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "matcher" in r.json()["detail"]
    finally:
        cluster.services.start("matcher", 0)
        cluster.wait_ready()
