"""/api/v1/Audit: the audit log, for admins (a Facegate addition; `audit.py` writes it)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.params import Parameter

from services.gateway.audit import AuditEntryPagedCollection, AuditFilter, AuditLog
from services.gateway.openapi import FACEGATE_TAG
from services.gateway.paging import paged
from services.gateway.problems import responses
from shared.messages.common import PageQuery


class AuditController(Controller):
    path = "/api/v1/Audit"
    tags = [FACEGATE_TAG]

    @get("/", responses=responses())
    async def list_audit(
        self,
        request: Request[Any, Any, Any],
        state: State,
        paging: PageQuery,
        subject: Annotated[str | None, Parameter(query="Subject", description="JWT subject or API key name")] = None,
        action: Annotated[
            Literal["change", "search"] | None, Parameter(query="Action", description="change or search")
        ] = None,
        since: Annotated[datetime | None, Parameter(query="Since", description="entries at or after")] = None,
        until: Annotated[datetime | None, Parameter(query="Until", description="entries before")] = None,
    ) -> AuditEntryPagedCollection:
        """Facegate addition (admin role): every change and biometric search made through the API,
        allowed or refused: who (subject, how authenticated, role), what (method, route, the ids
        in the path), when, from where (client address) and the outcome (status). Paged by time;
        entries older than FACEGATE_AUDIT_RETENTION_DAYS are deleted."""
        audit: AuditLog = state.audit
        page = await audit.page(paging, AuditFilter(subject=subject, action=action, since=since, until=until))
        return paged(AuditEntryPagedCollection, request, paging, page)
