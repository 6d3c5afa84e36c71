"""GraphQL on a live RTSP camera: a registered member walks past; `matchResult` reaches
subscribers over both WebSocket protocols (filtered by `where`), `faceCreated` and
`trackletCompleted` too, each the NATS event's fields; then the stored match results read back
through GraphQL, ordered by time, with their nested member, face and tracklet."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.graphql_client import Subscriber, query
from tests.rtsp.test_pipeline import (  # noqa: F401  (api, member, pipeline: fixtures)
    MEMBER_PHOTO_VIDEO,
    api,
    first_completed,
    member,
    of,
    pipeline,
    serve,
    watch,
)
from tests.support import Cluster

pytestmark = pytest.mark.rtsp

MATCH = """subscription($where: MatchResultNotificationDTOFilterInput) { matchResult(where: $where) {
  id type score streamId trackletId faceId watchlistMemberId watchlistMemberFullName watchlistId watchlistFullName
  previewColor faceMaskStatus createdAt frameTimestampMicroseconds labels { key value } } }"""
FACE_CREATED = "subscription { faceCreated { id trackletId frameId streamId state type quality imageDataId } }"
TRACKLET_COMPLETED = "subscription { trackletCompleted { id streamId scopeId timeAppeared timeDisappeared } }"


@pytest.fixture
def graphql_url(pipeline: Cluster) -> str:  # noqa: F811
    return pipeline.graphql_url


def test_live_subscriptions_and_stored_match_results(
    api: httpx.Client,  # noqa: F811
    pipeline: Cluster,  # noqa: F811
    member: dict[str, str],  # noqa: F811
    graphql_url: str,
    tmp_path: Path,
) -> None:
    where = {"watchlistMemberId": {"eq": member["member"]}, "score": {"gte": 1}}
    nobody = {"watchlistMemberId": {"eq": "nobody"}}

    async def live() -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any], float, str, Any]:
        async with (
            Subscriber(graphql_url, "graphql-transport-ws", MATCH, {"where": where}) as current,
            Subscriber(graphql_url, "graphql-ws", MATCH, {"where": where}) as legacy,
            Subscriber(graphql_url, "graphql-ws", MATCH, {"where": nobody}) as filtered_out,
            Subscriber(graphql_url, "graphql-transport-ws", FACE_CREATED) as faces,
            Subscriber(graphql_url, "graphql-transport-ws", TRACKLET_COMPLETED) as tracklets,
        ):
            server = serve(tmp_path, MEMBER_PHOTO_VIDEO)
            try:
                camera = await asyncio.to_thread(watch, api, server.url)
                matched = [(await sub.next(120))["data"]["matchResult"] for sub in (current, legacy)]
                received = time.time()
                face = (await faces.next(30))["data"]["faceCreated"]
                done = (await tracklets.next(60))["data"]["trackletCompleted"]
                events, tracklet = await asyncio.to_thread(first_completed, pipeline, camera)
            finally:
                server.stop()
            with pytest.raises(TimeoutError):
                await filtered_out.next(0.5)
            return matched, face, done, received, camera, (events, tracklet)

    matched, face, done, _received, camera, (events, tracklet) = asyncio.run(live())
    found = [e.body for e in events if e.kind == "match.found"]
    assert matched[0] == matched[1], "both protocols carry the same notification"
    event = next(e for e in found if e["id"] == matched[0]["id"])
    same = ("score", "streamId", "trackletId", "faceId", "watchlistMemberId", "watchlistMemberFullName",
            "watchlistId", "watchlistFullName", "previewColor", "frameTimestampMicroseconds", "labels")  # fmt: skip
    for key in same:
        assert matched[0][key] == event[key], key
    mask = {"Unknown": "UNKNOWN", "Mask": "MASK", "NoMask": "NO_MASK"}
    assert matched[0]["type"] == "MATCH" and matched[0]["faceMaskStatus"] == mask[event["faceMaskStatus"]]
    created = [e.body for e in events if e.kind == "face.created"]
    assert (
        face["id"] in {e["id"] for e in created}
        and face["streamId"] == camera
        and face["state"] in ("NEW", "EXTRACTED")
    )
    assert done["streamId"] == done["scopeId"] == camera

    # The stored match results, ordered by time, with nested relations, answer the stored events.
    stored = [e.body for e in events if e.kind == "match.stored"]
    document = """query($camera: UUID!) { matchResults(where: {streamId: {eq: $camera}}, order: [{createdAt: DESC}]) {
        totalCount items { id score type watchlistMemberId watchlistId trackletId faceId createdAt
          watchlistMember { fullName } watchlist { id } tracklet { id } face { id imageDataId } } } }"""
    results = query(graphql_url, document, {"camera": camera})["matchResults"]
    assert results["totalCount"] == len(stored) >= 1
    assert [r["id"] for r in results["items"]] == [e["id"] for e in reversed(stored)]
    first = next(r for r in results["items"] if r["trackletId"] == tracklet)
    assert first["watchlistMember"] == {"fullName": "Person Zero One"} and first["tracklet"] == {"id": tracklet}
    assert first["watchlist"] == {"id": member["watchlist"]} and first["face"]["id"] == first["faceId"]
    # A nested filter: the tracklets that matched this member.
    matched_tracklets = query(
        graphql_url,
        """query($m: String) { tracklets(where: {matchResults: {some:
        {watchlistMember: {id: {eq: $m}}}}}) { items { id } } }""",
        {"m": member["member"]},
    )["tracklets"]["items"]
    assert tracklet in {t["id"] for t in matched_tracklets}
    assert of(events, "match.found", tracklet)
