"""Which server a failure came from, so that it is answered as 503 naming it, not as 500.

A handler that cannot reach Postgres or Redis gets the drivers' connection errors (refused,
reset, closed in the middle of a query, server shutting down or starting up). `dependency_error`
turns those into `DependencyUnavailable`; anything else stays an unexpected error. Plain
`OSError`s count only when raised inside a driver's code, so that a file error of a service is
never mistaken for a database outage.
"""

from __future__ import annotations

import asyncpg
import redis.exceptions

from shared.errors import DependencyUnavailable

POSTGRES = "Postgres"
REDIS = "Redis"

# Postgres answers these while shutting down, crashed, starting up or out of connections.
_POSTGRES_ERRORS = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)
_REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
_DRIVERS = {"asyncpg": POSTGRES, "redis": REDIS}


def failed_dependency(exc: BaseException) -> str | None:
    """The server `exc` (or an exception it was raised from) says is unreachable, or None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _POSTGRES_ERRORS):
            return POSTGRES
        if isinstance(current, asyncpg.InterfaceError) and "connection" in str(current) and "closed" in str(current):
            return POSTGRES
        if isinstance(current, _REDIS_ERRORS):
            return REDIS
        if isinstance(current, OSError | TimeoutError):
            driver = _raising_driver(current)
            if driver is not None:
                return driver
        current = current.__cause__ or current.__context__
    return None


def _raising_driver(exc: BaseException) -> str | None:
    """The dependency whose client library raised `exc` (from the innermost driver frame)."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        found = _DRIVERS.get(module.partition(".")[0], found)
        tb = tb.tb_next
    return found


def dependency_error(exc: BaseException, service: str) -> DependencyUnavailable | None:
    """`exc` as a 503 naming the unreachable server, or None when it is not a connection failure."""
    dependency = failed_dependency(exc)
    if dependency is None:
        return None
    reason = str(exc).strip() or type(exc).__name__
    # The reason names the failure (refused, closed), never a query or a value.
    return DependencyUnavailable(dependency, service, reason.splitlines()[0][:200])
