"""Under overload the gateway refuses what it cannot take in time (429 with Retry-After, as
problem details), never a 500, and the requests it takes are answered: a second gateway with a
tiny in-flight limit and no queue wait, flooded with concurrent Searches of a real photo."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from shared.embedded import free_port
from tests.support import Cluster, assert_problem, photo_b64, wait_until

FLOOD = 12


@pytest.fixture(scope="module")
def tiny(cluster: Cluster) -> Iterator[str]:
    """The URL of a gateway that computes one API request at a time and queues none."""
    port = free_port()
    cluster.services.start("gateway", index=1, extra_env={
        "FACEGATE_GATEWAY_PORT": str(port), "FACEGATE_MAX_IN_FLIGHT": "1", "FACEGATE_QUEUE_WAIT_S": "0",
        "FACEGATE_INSTANCE_ID": "tiny-gateway",
    })  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{url}/readyz").status_code == 200, 60, "the tiny gateway")
        yield url
    finally:
        cluster.services.stop_one("gateway", 1)


def test_a_flood_gets_429s_with_retry_after_and_no_500(api: httpx.Client, tiny: str) -> None:
    watchlist = api.post("/api/v1/Watchlists", json={"displayName": "flood", "fullName": "flood"}).json()["id"]
    body = {"image": {"data": photo_b64("img1.jpg")}, "watchlistIds": [watchlist]}

    async def flood() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=tiny, timeout=60) as client:
            return list(
                await asyncio.gather(*(client.post("/api/v1/Watchlists/Search", json=body) for _ in range(FLOOD)))
            )

    answers = asyncio.run(flood())
    statuses = sorted(r.status_code for r in answers)
    assert set(statuses) <= {200, 429}, statuses
    assert 200 in statuses and 429 in statuses, statuses
    for refused in (r for r in answers if r.status_code == 429):
        assert_problem(refused, 429)
        assert int(refused.headers["retry-after"]) >= 1
    # The places are given back: alone, a request is taken again; the refusals are counted.
    with httpx.Client(base_url=tiny, timeout=60) as client:
        assert client.post("/api/v1/Watchlists/Search", json=body).status_code == 200
        metrics = client.get("/metrics").text
    assert f"facegate_gateway_refused_total {statuses.count(429)}" in metrics
    assert "facegate_gateway_in_flight 0" in metrics
