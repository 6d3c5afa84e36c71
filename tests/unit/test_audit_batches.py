"""services/gateway/audit.py's writer: entries one after another share a commit (LINGER_S), a
full batch goes at once, and stopping logs what was not written."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from services.gateway import audit
from services.gateway.audit import AuditEntry, AuditLog


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        at=datetime.now(UTC), action="search", subject=f"user-{i}", auth="none", method="POST",
        route="/api/v1/Watchlists/Search", status=200, duration_ms=1.0,
    )  # fmt: skip


class Recorded(AuditLog):
    """Batches kept in memory instead of Postgres."""

    def __init__(self, linger_s: float) -> None:
        super().__init__("postgresql://unused", retention_days=30, linger_s=linger_s)
        self.batches: list[list[str | None]] = []

    async def _write(self, batch: list[AuditEntry]) -> None:
        self.batches.append([e.subject for e in batch])


async def test_requests_one_after_another_share_one_commit() -> None:
    log = Recorded(linger_s=0.3)
    await log.start()
    try:
        for i in range(5):  # a Search every 20 ms, as one client one at a time makes them
            log.record(entry(i))
            await asyncio.sleep(0.02)
        await log.flush()
        assert log.batches == [[f"user-{i}" for i in range(5)]]
    finally:
        await log.stop()


async def test_without_linger_each_entry_is_its_own_commit() -> None:
    log = Recorded(linger_s=0.0)
    await log.start()
    try:
        for i in range(3):
            log.record(entry(i))
            await asyncio.sleep(0.02)
        await log.flush()
        assert log.batches == [["user-0"], ["user-1"], ["user-2"]]
    finally:
        await log.stop()


async def test_a_full_batch_does_not_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "BATCH_SIZE", 4)
    log = Recorded(linger_s=5.0)
    await log.start()
    try:
        started = time.monotonic()
        for i in range(4):
            log.record(entry(i))
        while not log.batches:
            await asyncio.sleep(0.01)
        assert time.monotonic() - started < 1.0
        assert log.batches == [["user-0", "user-1", "user-2", "user-3"]]
    finally:
        await log.stop()


async def test_stopping_while_an_entry_lingers_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    log = Recorded(linger_s=30.0)
    await log.start()
    log.record(entry(7))
    await asyncio.sleep(0.05)
    await log.stop(timeout=0.1)
    assert log.batches == []
    assert any("audit entry not stored" in r.message and "user-7" in r.message for r in caplog.records)
