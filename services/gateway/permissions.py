"""Who may call what: the one table of the gateway's routes (method + route template) and the
least role each needs, with whether the call is written to the audit log.

viewer reads (GET); operator also runs the biometric searches (Search, SearchByTemplate, Individuals/Search,
Faces/Search, Verify, SpoofCheck, Detect), which read the gallery or process a face without
changing anything; admin does everything else (watchlists, members, cameras, setup, deletes) and reads
the audit log. Every change and every search is audited, allowed or not.

Open to anyone, without credentials:
- /healthz, /readyz: probes of Kubernetes and Docker, which send no credentials; they say only
  "ok" or which connection is down.
- /metrics: Prometheus scrapes without credentials by default; request counts per route
  template and status, no ids and no biometric data. Keep the port off the internet (the chart
  exposes it inside the cluster only) or put the scrape behind a proxy if that is too much.
- Swagger UI, its assets and the OpenAPI document: the API's description, public anyway
  (SmartFace publishes it); Swagger UI must load before a user can press Authorize.
- OPTIONS (allowed methods only), the redirects of / to Swagger UI and of /graphql to the
  GraphQL IDE (the GraphQL service checks its own callers: services/graphql/access.py).
- The web console's page and assets (/console): code that calls the API with the user's own
  credentials, holding no data (services/gateway/console).

A route missing from the table needs admin and is audited (`tests/unit/test_permissions.py`
fails first: every route of the app must be listed).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from shared.auth import Role

AuditAction = Literal["change", "search"]


class Rule(NamedTuple):
    role: Role | None  # None: open, no credentials needed
    audit: AuditAction | None = None


OPEN = Rule(None)
READ = Rule(Role.VIEWER)
SEARCH = Rule(Role.OPERATOR, "search")
CHANGE = Rule(Role.ADMIN, "change")
ADMIN_READ = Rule(Role.ADMIN)
UNLISTED = Rule(Role.ADMIN, "change")

ROUTES: dict[tuple[str, str], Rule] = {
    # Watchlists
    ("GET", "/api/v1/Watchlists"): READ,
    ("POST", "/api/v1/Watchlists"): CHANGE,
    ("PUT", "/api/v1/Watchlists"): CHANGE,
    ("GET", "/api/v1/Watchlists/{id}"): READ,
    ("DELETE", "/api/v1/Watchlists/{id}"): CHANGE,
    ("GET", "/api/v1/Watchlists/{id}/WatchlistMembers"): READ,
    ("POST", "/api/v1/Watchlists/Search"): SEARCH,
    ("POST", "/api/v1/Watchlists/SearchByTemplate"): SEARCH,
    # Watchlist members
    ("GET", "/api/v1/WatchlistMembers"): READ,
    ("POST", "/api/v1/WatchlistMembers"): CHANGE,
    ("PUT", "/api/v1/WatchlistMembers"): CHANGE,
    ("GET", "/api/v1/WatchlistMembers/{id}"): READ,
    ("DELETE", "/api/v1/WatchlistMembers/{id}"): CHANGE,
    ("POST", "/api/v1/WatchlistMembers/LinkToWatchlist"): CHANGE,
    ("POST", "/api/v1/WatchlistMembers/UnlinkFromWatchlist"): CHANGE,
    ("POST", "/api/v1/WatchlistMembers/Register"): CHANGE,
    ("POST", "/api/v1/WatchlistMembers/{id}/AddNewFace"): CHANGE,
    ("POST", "/api/v1/WatchlistMembers/{id}/AddFaceFromSystem"): CHANGE,
    ("GET", "/api/v1/WatchlistMembers/{id}/Faces"): READ,
    ("POST", "/api/v1/WatchlistMembers/{id}/RemoveFace"): CHANGE,
    # Faces: biometric operations, stored faces
    ("POST", "/api/v1/Faces/Detect"): SEARCH,
    ("POST", "/api/v1/Faces/Verify"): SEARCH,
    ("POST", "/api/v1/Faces/SpoofCheck"): SEARCH,
    ("GET", "/api/v1/Faces"): READ,
    ("GET", "/api/v1/Faces/{id}"): READ,
    ("DELETE", "/api/v1/Faces/{id}"): CHANGE,
    # Cameras and what they saw
    ("GET", "/api/v1/Cameras"): READ,
    ("POST", "/api/v1/Cameras"): CHANGE,
    ("PUT", "/api/v1/Cameras"): CHANGE,
    ("GET", "/api/v1/Cameras/{id}"): READ,
    ("DELETE", "/api/v1/Cameras/{id}"): CHANGE,
    ("GET", "/api/v1/Cameras/{id}/Status"): READ,
    ("GET", "/api/v1/Cameras/{id}/Preview"): READ,
    ("GET", "/api/v1/Cameras/{id}/Frames"): READ,
    ("GET", "/api/v1/Cameras/{id}/Tracklets"): READ,
    ("GET", "/api/v1/Frames"): READ,
    ("GET", "/api/v1/Frames/{id}"): READ,
    ("DELETE", "/api/v1/Frames/{id}"): CHANGE,
    ("GET", "/api/v1/Tracklet"): READ,
    ("GET", "/api/v1/Tracklet/{id}"): READ,
    ("DELETE", "/api/v1/Tracklet/{id}"): CHANGE,
    ("GET", "/api/v1/Tracklet/{id}/Faces"): READ,
    ("GET", "/api/v1/Images/{id}"): READ,
    # Video records and what their analysis produced
    ("GET", "/api/v1/EdgeStreams"): READ,
    ("POST", "/api/v1/EdgeStreams"): CHANGE,
    ("PUT", "/api/v1/EdgeStreams"): CHANGE,
    ("GET", "/api/v1/EdgeStreams/{id}"): READ,
    ("DELETE", "/api/v1/EdgeStreams/{id}"): CHANGE,
    ("POST", "/api/v1/EdgeStreams/Settings/Synchronize"): CHANGE,
    ("PUT", "/api/v1/EdgeStreams/{id}/WatchlistSynchronization"): CHANGE,
    ("GET", "/api/v1/EdgeStreams/{id}/WatchlistSynchronization"): READ,
    ("GET", "/api/v1/VideoRecords"): READ,
    ("POST", "/api/v1/VideoRecords"): CHANGE,
    ("PUT", "/api/v1/VideoRecords"): CHANGE,
    ("GET", "/api/v1/VideoRecords/{id}"): READ,
    ("DELETE", "/api/v1/VideoRecords/{id}"): CHANGE,
    ("GET", "/api/v1/VideoRecords/{id}/Status"): READ,
    ("GET", "/api/v1/VideoRecords/{id}/Tracklets"): READ,
    ("GET", "/api/v1/VideoRecords/{id}/Frames"): READ,
    ("POST", "/api/v1/VideoRecords/{id}/Clear"): CHANGE,
    ("PUT", "/api/v1/VideoRecords/{id}/Tags"): CHANGE,
    ("GET", "/api/v1/VideoRecords/{id}/Tags"): READ,
    # Groupings and their individuals: the Search reads like the other searches; uploads,
    # triggers, links, splits and merges change what is stored
    ("GET", "/api/v1/RecordGroupings"): READ,
    ("POST", "/api/v1/RecordGroupings"): CHANGE,
    ("PUT", "/api/v1/RecordGroupings"): CHANGE,
    ("GET", "/api/v1/RecordGroupings/{groupingId}"): READ,
    ("DELETE", "/api/v1/RecordGroupings/{groupingId}"): CHANGE,
    ("GET", "/api/v1/RecordGroupings/{groupingId}/Individuals"): READ,
    ("GET", "/api/v1/RecordGroupings/{groupingId}/Frames"): READ,
    ("GET", "/api/v1/RecordGroupings/{groupingId}/VideoRecords"): READ,
    ("POST", "/api/v1/RecordGroupings/{groupingId}/Image"): CHANGE,
    ("GET", "/api/v1/RecordGroupings/{groupingId}/State"): READ,
    ("POST", "/api/v1/RecordGroupings/{groupingId}/Trigger"): CHANGE,
    ("POST", "/api/v1/RecordGroupings/{groupingId}/LinkVideoRecords"): CHANGE,
    ("POST", "/api/v1/RecordGroupings/{groupingId}/UnlinkVideoRecords"): CHANGE,
    ("GET", "/api/v1/LiveGroupings"): READ,
    ("POST", "/api/v1/LiveGroupings"): CHANGE,
    ("PUT", "/api/v1/LiveGroupings"): CHANGE,
    ("GET", "/api/v1/LiveGroupings/{groupingId}"): READ,
    ("DELETE", "/api/v1/LiveGroupings/{groupingId}"): CHANGE,
    ("GET", "/api/v1/LiveGroupings/{groupingId}/Streams"): READ,
    ("GET", "/api/v1/LiveGroupings/{groupingId}/Cameras"): READ,
    ("GET", "/api/v1/LiveGroupings/{groupingId}/Individuals"): READ,
    ("GET", "/api/v1/LiveGroupings/{groupingId}/Frames"): READ,
    ("POST", "/api/v1/LiveGroupings/{groupingId}/LinkStreams"): CHANGE,
    ("POST", "/api/v1/LiveGroupings/{groupingId}/UnlinkStreams"): CHANGE,
    ("POST", "/api/v1/LiveGroupings/{groupingId}/LinkCameras"): CHANGE,
    ("POST", "/api/v1/LiveGroupings/{groupingId}/UnlinkCameras"): CHANGE,
    # Pedestrians and objects (issue 21)
    ("POST", "/api/v1/Detect"): SEARCH,
    ("GET", "/api/v1/Pedestrians"): READ,
    ("GET", "/api/v1/Pedestrians/{id}"): READ,
    ("DELETE", "/api/v1/Pedestrians/{id}"): CHANGE,
    ("GET", "/api/v1/Individuals"): READ,
    ("GET", "/api/v1/Individuals/{id}"): READ,
    ("DELETE", "/api/v1/Individuals/{id}"): CHANGE,
    ("GET", "/api/v1/Individuals/{id}/Tracklets"): READ,
    ("POST", "/api/v1/Individuals/Search"): SEARCH,
    # Faces/Search: a search of the stored camera faces; reading a session's hits is a read.
    ("POST", "/api/v1/Faces/Search"): SEARCH,
    ("GET", "/api/v1/Faces/Search/{searchSessionId}"): READ,
    ("POST", "/api/v1/Individuals/Split"): CHANGE,
    ("POST", "/api/v1/Individuals/Merge"): CHANGE,
    # Setup, version, audit
    ("GET", "/api/v1/Setup/DataStorage/Images"): READ,
    ("PUT", "/api/v1/Setup/DataStorage/Images"): CHANGE,
    ("GET", "/api/v1/Setup/DataStorage/Video"): READ,
    ("PUT", "/api/v1/Setup/DataStorage/Video"): CHANGE,
    ("GET", "/api/v1/Setup/DbCleanup"): READ,
    ("PUT", "/api/v1/Setup/DbCleanup"): CHANGE,
    ("GET", "/api/v1/Setup/Features"): READ,
    ("PUT", "/api/v1/Setup/Features"): CHANGE,
    ("GET", "/api/v1/Setup/Preview"): READ,
    ("PUT", "/api/v1/Setup/Preview"): CHANGE,
    ("GET", "/api/v1/Setup/SearchSessionsCleanup"): READ,
    ("PUT", "/api/v1/Setup/SearchSessionsCleanup"): CHANGE,
    ("GET", "/api/v1/Setup/Watchlists/AutoLearn"): READ,
    ("PUT", "/api/v1/Setup/Watchlists/AutoLearn"): CHANGE,
    ("GET", "/api/v1/Version"): READ,
    ("GET", "/api/v1/Audit"): ADMIN_READ,
    # Probes, metrics, Swagger UI and the OpenAPI document (see above)
    ("GET", "/healthz"): OPEN,
    ("GET", "/readyz"): OPEN,
    ("GET", "/metrics"): OPEN,
    ("GET", "/"): OPEN,
    ("GET", "/swagger/index.html"): OPEN,
    ("GET", "/swagger"): OPEN,
    ("GET", "/swagger/{path}"): OPEN,
    ("GET", "/swagger/openapi.json"): OPEN,
    ("GET", "/swagger/openapi.yaml"): OPEN,
    ("GET", "/swagger/v1/swagger.json"): OPEN,
    ("GET", "/swagger/oauth2-redirect.html"): OPEN,
    ("GET", "/swagger-assets/{file_path}"): OPEN,
    ("GET", "/graphql"): OPEN,  # a redirect to the GraphQL IDE, on the GraphQL port
    ("HEAD", "/swagger-assets/{file_path}"): OPEN,
    # The web console (see above)
    ("GET", "/console"): OPEN,
    ("GET", "/console/assets/{file_path}"): OPEN,
    ("HEAD", "/console/assets/{file_path}"): OPEN,
}


def rule_for(method: str, route: str) -> Rule:
    """The rule of `method` on the route template (as Litestar names it: /api/v1/Watchlists/{id})."""
    if method == "OPTIONS":
        return OPEN  # Litestar's automatic answer: the allowed methods, nothing else
    return ROUTES.get((method, route), UNLISTED)
