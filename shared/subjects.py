"""Every NATS subject Facegate uses, defined once.

Requests: `facegate.rpc.<service>.<noun>.<verb>`, served by a queue group named after the
service so that its replicas share the load. Events: `facegate.evt.<entity>.<past-verb>.<id>`
on the JetStream stream `EVENTS_STREAM_SUBJECTS`; the id comes last so that `...match.*`
filters by camera.
"""

from __future__ import annotations

RPC_PREFIX = "facegate.rpc"
EVT_PREFIX = "facegate.evt"
EVENTS_STREAM_SUBJECTS = [f"{EVT_PREFIX}.>"]

SERVICES = ("gateway", "camera_ingest", "detector", "extractor", "matcher", "grouping", "cleanup")


def rpc(service: str, noun: str, verb: str) -> str:
    """Subject of a request served by `service`."""
    return f"{RPC_PREFIX}.{service}.{noun}.{verb}"


def event(entity: str, past_verb: str, entity_id: str) -> str:
    """Subject of an event about one entity; ids never contain dots (GUIDs or caller ids)."""
    return f"{EVT_PREFIX}.{entity}.{past_verb}.{token(entity_id)}"


def event_filter(entity: str, past_verb: str = "*") -> str:
    """Wildcard subject matching all events of an entity (and verb)."""
    return f"{EVT_PREFIX}.{entity}.{past_verb}.*"


def token(value: str) -> str:
    """Make a caller id safe as one subject token (custom member ids may contain dots or spaces)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in value) or "_"


# Matcher: the gallery (watchlists, members, templates).
WATCHLIST_CREATE = rpc("matcher", "watchlist", "create")
WATCHLIST_UPSERT = rpc("matcher", "watchlist", "upsert")
WATCHLIST_GET = rpc("matcher", "watchlist", "get")
WATCHLIST_LIST = rpc("matcher", "watchlist", "list")
WATCHLIST_DELETE = rpc("matcher", "watchlist", "delete")
WATCHLIST_MEMBERS = rpc("matcher", "watchlist", "members")

MEMBER_CREATE = rpc("matcher", "member", "create")
MEMBER_UPSERT = rpc("matcher", "member", "upsert")
MEMBER_GET = rpc("matcher", "member", "get")
MEMBER_LIST = rpc("matcher", "member", "list")
MEMBER_DELETE = rpc("matcher", "member", "delete")
MEMBER_LINK = rpc("matcher", "member", "link")
MEMBER_UNLINK = rpc("matcher", "member", "unlink")

MATCHER_VERSION = rpc("matcher", "database", "version")

# Events of the gallery, for the other services and outside subscribers.
WATCHLIST_EVENTS = ("created", "updated", "deleted")
MEMBER_EVENTS = ("created", "updated", "deleted", "linked", "unlinked")
