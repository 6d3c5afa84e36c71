"""The SmartFace operations Facegate implements and the HTTP statuses each answers: only those
SmartFace's document declares for it (SMARTFACE_STATUSES, which the contract test checks against
the document), plus ALWAYS_ALLOWED, which any HTTP client handles.

Facegate's errors carry their natural status (422 for an image without a usable face, 404 for an
id that does not exist, ...). Where the operation does not declare that status, the error is
answered with the status SmartFace uses for the same case (followed on while that one is not
declared either: a 409 is a 400, or a 404 where only 404 is declared):

| natural | answered as | why |
|---|---|---|
| 400 | 404 | an id that can never exist (a NUL, too long, not a GUID) where only 404 is declared |
| 404 | 400 | an id in the body or path that does not exist, where only 400 is declared |
| 408 | 503 | the workers did not finish in time: the service is unavailable for now |
| 409 | 400 | a conflicting value is a bad request where 409 is not declared |
| 415 | 400 | a body the operation cannot read |
| 422 | 400 | an image without a usable face: SmartFace answers 400 ("No face detected") |

Watchlists/Search declares 422, yet SmartFace answers an image without a usable face with 400,
which user scripts read as "no face detected": OVERRIDES keeps that. A status with no declared
replacement stays as it is (500 is a bug, not an answer). Facegate's additions (tagged Facegate)
answer their natural statuses.
"""

from __future__ import annotations

Operation = tuple[str, str]  # (METHOD, path as SmartFace's document writes it)

# Every implemented operation (compatibility.IMPLEMENTED is this list) with the statuses SmartFace's
# document declares for it.
SMARTFACE_STATUSES: dict[Operation, tuple[int, ...]] = {
    ("GET", "/api/v1/Version"): (200,),
    ("GET", "/api/v1/Watchlists"): (200, 400),
    ("POST", "/api/v1/Watchlists"): (201, 400, 409),
    ("PUT", "/api/v1/Watchlists"): (200, 400),
    ("GET", "/api/v1/Watchlists/{id}"): (200, 404),
    ("DELETE", "/api/v1/Watchlists/{id}"): (204, 404),
    ("GET", "/api/v1/Watchlists/{id}/WatchlistMembers"): (200, 400),
    ("GET", "/api/v1/WatchlistMembers"): (200, 400),
    ("POST", "/api/v1/WatchlistMembers"): (201, 400, 409),
    ("PUT", "/api/v1/WatchlistMembers"): (200, 400),
    ("GET", "/api/v1/WatchlistMembers/{id}"): (200, 404),
    ("DELETE", "/api/v1/WatchlistMembers/{id}"): (204, 404),
    ("POST", "/api/v1/WatchlistMembers/LinkToWatchlist"): (204, 400, 404),
    ("POST", "/api/v1/WatchlistMembers/UnlinkFromWatchlist"): (204, 400, 404),
    ("POST", "/api/v1/WatchlistMembers/Register"): (201, 400, 408, 409, 422, 429),
    ("POST", "/api/v1/WatchlistMembers/{id}/AddNewFace"): (201, 400, 404, 408, 409, 422),
    ("POST", "/api/v1/WatchlistMembers/{id}/AddFaceFromSystem"): (204, 400, 404, 409, 422),
    ("GET", "/api/v1/WatchlistMembers/{id}/Faces"): (200, 400),
    ("POST", "/api/v1/WatchlistMembers/{id}/RemoveFace"): (204, 400, 404, 408),
    ("POST", "/api/v1/Watchlists/Search"): (200, 400, 404, 408, 422),
    ("POST", "/api/v1/Watchlists/SearchByTemplate"): (200, 400, 404, 408),
    ("POST", "/api/v1/Faces/Verify"): (200, 400, 408),
    ("POST", "/api/v1/Faces/SpoofCheck"): (200, 400, 408),
    ("GET", "/api/v1/Cameras"): (200,),
    ("POST", "/api/v1/Cameras"): (201, 400, 409),
    ("PUT", "/api/v1/Cameras"): (200, 400, 404),
    ("GET", "/api/v1/Cameras/{id}"): (200, 404),
    ("DELETE", "/api/v1/Cameras/{id}"): (204, 404),
    ("GET", "/api/v1/Cameras/{id}/Tracklets"): (200, 400, 404),
    ("GET", "/api/v1/Cameras/{id}/Frames"): (200, 400, 404),
    ("GET", "/api/v1/Faces"): (200, 400),
    ("GET", "/api/v1/Faces/{id}"): (200, 404),
    ("DELETE", "/api/v1/Faces/{id}"): (204, 404),
    ("POST", "/api/v1/Faces/Search"): (200, 400, 404, 408),
    ("GET", "/api/v1/Frames"): (200, 400),
    ("GET", "/api/v1/Frames/{id}"): (200, 404),
    ("DELETE", "/api/v1/Frames/{id}"): (204, 404),
    ("GET", "/api/v1/Tracklet"): (200, 400),
    ("GET", "/api/v1/Tracklet/{id}"): (200, 404),
    ("DELETE", "/api/v1/Tracklet/{id}"): (204, 404),
    ("GET", "/api/v1/Tracklet/{id}/Faces"): (200, 400),
    ("GET", "/api/v1/Images/{id}"): (200, 400, 404),
    ("GET", "/api/v1/Setup/DataStorage/Video"): (200, 400, 404),
    ("PUT", "/api/v1/Setup/DataStorage/Video"): (200, 400, 404),
    ("GET", "/api/v1/Setup/DbCleanup"): (200, 400, 404),
    ("PUT", "/api/v1/Setup/DbCleanup"): (200, 400, 404),
    ("GET", "/api/v1/Setup/Features"): (200, 400, 404),
    ("PUT", "/api/v1/Setup/Features"): (200, 400, 404),
    ("GET", "/api/v1/Setup/Preview"): (200, 400, 404),
    ("PUT", "/api/v1/Setup/Preview"): (200, 400, 404),
    ("GET", "/api/v1/Setup/SearchSessionsCleanup"): (200, 400, 404),
    ("PUT", "/api/v1/Setup/SearchSessionsCleanup"): (200, 400, 404),
    ("GET", "/api/v1/Setup/Watchlists/AutoLearn"): (200, 400, 404),
    ("PUT", "/api/v1/Setup/Watchlists/AutoLearn"): (200, 400, 404),
    ("GET", "/api/v1/VideoRecords"): (200,),
    ("POST", "/api/v1/VideoRecords"): (201, 400),
    ("PUT", "/api/v1/VideoRecords"): (200, 400, 404),
    ("GET", "/api/v1/VideoRecords/{id}"): (200, 404),
    ("DELETE", "/api/v1/VideoRecords/{id}"): (204, 404),
    ("GET", "/api/v1/VideoRecords/{id}/Tracklets"): (200, 400, 404),
    ("GET", "/api/v1/VideoRecords/{id}/Frames"): (200, 400, 404),
    ("POST", "/api/v1/VideoRecords/{id}/Clear"): (204, 404),
    ("PUT", "/api/v1/VideoRecords/{id}/Tags"): (200, 400, 404),
    ("GET", "/api/v1/VideoRecords/{id}/Tags"): (200, 400, 404),
    ("GET", "/api/v1/Individuals"): (200, 400),
    ("GET", "/api/v1/Individuals/{id}"): (200, 404),
    ("DELETE", "/api/v1/Individuals/{id}"): (204, 404),
    ("GET", "/api/v1/Individuals/{id}/Tracklets"): (200, 400, 404),
    ("POST", "/api/v1/Individuals/Search"): (200, 400, 408),
    ("POST", "/api/v1/Individuals/Split"): (200, 400, 408),
    ("POST", "/api/v1/Individuals/Merge"): (200, 400, 408),
    ("GET", "/api/v1/RecordGroupings"): (200,),
    ("POST", "/api/v1/RecordGroupings"): (201, 400, 409),
    ("PUT", "/api/v1/RecordGroupings"): (200, 400, 404),
    ("GET", "/api/v1/RecordGroupings/{groupingId}"): (200, 404),
    ("DELETE", "/api/v1/RecordGroupings/{groupingId}"): (204, 404, 409),
    ("GET", "/api/v1/RecordGroupings/{groupingId}/Individuals"): (200, 400, 404),
    ("GET", "/api/v1/RecordGroupings/{groupingId}/Frames"): (200, 400, 404),
    ("GET", "/api/v1/RecordGroupings/{groupingId}/VideoRecords"): (200, 404),
    ("POST", "/api/v1/RecordGroupings/{groupingId}/Image"): (201, 400, 409),
    ("GET", "/api/v1/RecordGroupings/{groupingId}/State"): (200,),
    ("POST", "/api/v1/RecordGroupings/{groupingId}/Trigger"): (204, 400),
    ("POST", "/api/v1/RecordGroupings/{groupingId}/LinkVideoRecords"): (204, 400, 404),
    ("POST", "/api/v1/RecordGroupings/{groupingId}/UnlinkVideoRecords"): (204, 400, 404),
    ("GET", "/api/v1/LiveGroupings"): (200,),
    ("POST", "/api/v1/LiveGroupings"): (201, 400, 409),
    ("PUT", "/api/v1/LiveGroupings"): (200, 400, 404),
    ("GET", "/api/v1/LiveGroupings/{groupingId}"): (200, 404),
    ("DELETE", "/api/v1/LiveGroupings/{groupingId}"): (204, 404, 409),
    ("GET", "/api/v1/LiveGroupings/{groupingId}/Streams"): (200, 404),
    ("GET", "/api/v1/LiveGroupings/{groupingId}/Cameras"): (200, 404),
    ("GET", "/api/v1/LiveGroupings/{groupingId}/Individuals"): (200, 400, 404),
    ("GET", "/api/v1/LiveGroupings/{groupingId}/Frames"): (200, 400, 404),
    ("POST", "/api/v1/LiveGroupings/{groupingId}/LinkStreams"): (204, 400, 404),
    ("POST", "/api/v1/LiveGroupings/{groupingId}/UnlinkStreams"): (204, 400, 404),
    ("POST", "/api/v1/LiveGroupings/{groupingId}/LinkCameras"): (204, 400, 404),
    ("POST", "/api/v1/LiveGroupings/{groupingId}/UnlinkCameras"): (204, 400, 404),
    ("GET", "/api/v1/EdgeStreams"): (200,),
    ("POST", "/api/v1/EdgeStreams"): (201, 400, 409),
    ("PUT", "/api/v1/EdgeStreams"): (200, 400, 404),
    ("GET", "/api/v1/EdgeStreams/{id}"): (200, 404),
    ("DELETE", "/api/v1/EdgeStreams/{id}"): (204, 404),
    ("POST", "/api/v1/EdgeStreams/Settings/Synchronize"): (204,),
    ("PUT", "/api/v1/EdgeStreams/{id}/WatchlistSynchronization"): (200, 400, 404),
    ("GET", "/api/v1/EdgeStreams/{id}/WatchlistSynchronization"): (200, 404),
    ("POST", "/api/v1/Detect"): (200, 400, 408),
    ("GET", "/api/v1/Pedestrians"): (200, 400),
    ("GET", "/api/v1/Pedestrians/{id}"): (200, 404),
    ("DELETE", "/api/v1/Pedestrians/{id}"): (204, 404),
}

ALWAYS_ALLOWED = frozenset({401, 403, 413, 429, 503})

INSTEAD: dict[int, int] = {400: 404, 404: 400, 408: 503, 409: 400, 415: 400, 422: 400}

OVERRIDES: dict[Operation, dict[int, int]] = {
    ("POST", "/api/v1/Watchlists/Search"): {422: 400},
}


def declared(operation: Operation) -> frozenset[int] | None:
    """The statuses SmartFace declares for an operation; None for one that is not SmartFace's."""
    codes = SMARTFACE_STATUSES.get(operation)
    return None if codes is None else frozenset(codes)


def answered(operation: Operation, status: int) -> int:
    """The status an error whose natural status is `status` is answered with in `operation`."""
    codes = declared(operation)
    if codes is None:
        return status
    if status in OVERRIDES.get(operation, {}):
        return OVERRIDES[operation][status]
    answer, tried = status, {status}
    while answer not in codes and answer not in ALWAYS_ALLOWED:
        instead = INSTEAD.get(answer)
        if instead is None or instead in tried:
            return status  # nothing declared stands for it
        answer = instead
        tried.add(answer)
    return answer
