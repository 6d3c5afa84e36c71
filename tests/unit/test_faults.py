"""Connection failures of the real drivers are named as their server; other errors are not."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
import redis.asyncio as aioredis

from shared.embedded import free_port
from shared.errors import DependencyUnavailable
from shared.faults import POSTGRES, REDIS, dependency_error, failed_dependency


async def _postgres_refused() -> BaseException:
    try:
        await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/facegate", timeout=5)
    except BaseException as exc:  # the driver's own exception, whatever its class
        return exc
    raise AssertionError("nothing listens on a free port")


async def _redis_refused() -> BaseException:
    client = aioredis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        await client.get("x")
    except BaseException as exc:
        return exc
    finally:
        await client.aclose()
    raise AssertionError("nothing listens on a free port")


def test_a_refused_postgres_connection_is_a_503_naming_postgres() -> None:
    exc = asyncio.run(_postgres_refused())
    assert failed_dependency(exc) == POSTGRES
    error = dependency_error(exc, "matcher")
    assert isinstance(error, DependencyUnavailable) and error.status == 503
    assert error.detail.startswith("Postgres is unavailable, so the matcher service cannot answer")


def test_a_refused_redis_connection_names_redis() -> None:
    assert failed_dependency(asyncio.run(_redis_refused())) == REDIS


def test_errors_raised_from_a_connection_failure_are_traced_back_to_it() -> None:
    try:
        try:
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
        except asyncpg.PostgresError as inner:
            raise RuntimeError("while storing") from inner
    except RuntimeError as outer:
        assert failed_dependency(outer) == POSTGRES


@pytest.mark.parametrize(
    "exc",
    [
        FileNotFoundError("/images/x.jpg"),
        ConnectionRefusedError("not a driver"),
        ValueError("bad"),
        asyncpg.UniqueViolationError("duplicate key"),
    ],
)
def test_other_errors_are_not_dependency_failures(exc: BaseException) -> None:
    assert failed_dependency(exc) is None and dependency_error(exc, "matcher") is None
