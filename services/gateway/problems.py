"""The one map from errors to RFC 7807 ProblemDetails answers (as ASP.NET/SmartFace writes them)."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPI, OpenAPIMediaType, OpenAPIResponse, Reference

from services.gateway import statuses
from services.gateway.paging import QUERY_ALIASES
from services.gateway.statuses import Operation
from shared.errors import RETRY_AFTER_S, FacegateError
from shared.messages.gallery import ID_PATTERN, NO_NUL

log = logging.getLogger(__name__)

_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")

PROBLEM_JSON = "application/problem+json"

# ASP.NET points `type` at the RFC section of the status; clients sometimes switch on it.
_RFC = "https://tools.ietf.org/html/rfc9110#section-"
_TYPES = {
    400: "15.5.1",
    401: "15.5.2",
    403: "15.5.4",
    404: "15.5.5",
    405: "15.5.6",
    408: "15.5.9",
    409: "15.5.10",
    413: "15.5.14",
    415: "15.5.16",
    422: "15.5.21",
    429: "https://tools.ietf.org/html/rfc6585#section-4",
    500: "15.6.1",
    503: "15.6.4",
}


class ProblemDetails(msgspec.Struct, omit_defaults=True, rename="camel"):
    """RFC 7807 body; `errors` only for validation, as ASP.NET does."""

    type: str | None = None
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    trace_id: str | None = None
    errors: dict[str, list[str]] | None = None


_DESCRIPTIONS = {
    400: "The request is invalid (wrong type, missing field, value out of range); `errors` names each field.",
    404: "An id in the path or body does not exist.",
    408: "The workers did not finish in time.",
    409: "An object with this id already exists.",
    413: "The body is larger than FACEGATE_MAX_REQUEST_BYTES.",
    415: "The body is in a media type the operation does not read.",
    422: "The request is well-formed but cannot be processed (e.g. no face in the image).",
    429: "Too many requests at once; retry later.",
    503: "No replica of the service that owns the request answered in time, or a server it needs (Postgres, "
    "Redis, NATS) is unavailable: `detail` names it; retry after `Retry-After` seconds.",
}


def responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The problem-details answers an operation may give by nature: 400 and 503 always (every
    operation validates and crosses the bus), plus the given ones. Litestar's own 400 schema is
    not the body we send, so this replaces it. A SmartFace operation documents SmartFace's
    statuses instead (document_statuses), its errors mapped to them (statuses.answered)."""
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            description=_DESCRIPTIONS[status],
            media_type=PROBLEM_JSON,
            generate_examples=False,  # random examples would differ between builds of the document
        )
        for status in sorted({400, 503, *statuses})
    }


def problem_details(
    status: int,
    title: str,
    detail: str | None,
    instance: str,
    trace_id: str | None = None,
    errors: dict[str, list[str]] | None = None,
) -> ProblemDetails:
    """The body of a problem answer (also for middleware, which has no Litestar request)."""
    section = _TYPES.get(status, "")
    return ProblemDetails(
        type=section if section.startswith("http") else (_RFC + section if section else None),
        title=title,
        status=status,
        detail=detail,
        instance=instance,
        trace_id=trace_id or uuid.uuid4().hex,
        errors=errors,
    )


def problem(
    request: Request[Any, Any, Any],
    status: int,
    title: str,
    detail: str | None,
    errors: dict[str, list[str]] | None = None,
) -> Response[ProblemDetails]:
    """The answer to an error, in a status the operation declares (see services.gateway.statuses)."""
    template = request.scope.get("path_template")  # absent when routing itself failed
    if template:
        declared = statuses.answered((request.method, template), status)
        if declared != status:
            status, title = declared, _title(declared)
    trace_id = request.headers.get("traceparent")
    body = problem_details(status, title, detail, request.url.path, trace_id, errors)
    # 503 is temporary (a worker restarting, a server down): tell clients when to retry.
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def on_facegate_error(request: Request[Any, Any, Any], exc: FacegateError) -> Response[ProblemDetails]:
    return problem(request, exc.status, exc.title, exc.detail, exc.errors)


def on_validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[ProblemDetails]:
    errors: dict[str, list[str]] = {}
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            message = _readable(str(item.get("message", "invalid value")))
            errors.setdefault(_field_key(item, message), []).append(message)
    if not errors:
        errors["$"] = [str(exc.detail)]
    detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items())
    return problem(request, 400, "One or more validation errors occurred.", detail, errors)


# Validation messages that would show a regular expression say what it asks for instead.
_PATTERN_MEANINGS = {
    ID_PATTERN: "an id without '/', '\\' or control characters, and not '.' or '..'",
    NO_NUL: "text without NUL characters",
}


def _readable(message: str) -> str:
    for pattern, meaning in _PATTERN_MEANINGS.items():
        message = message.replace(f"`str` matching regex {pattern!r}", meaning)
    return message


def _field_key(item: dict[str, Any], message: str) -> str:
    """The client's name of the offending field: JSON path in the body, alias in the query."""
    key = str(item.get("key") or "")
    missing = _MISSING_FIELD.search(message)
    if missing and key in ("", "data"):
        return missing.group(1)
    if key in ("", "data"):
        return "$"
    return QUERY_ALIASES.get(key, key)


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ProblemDetails]:
    return problem(request, exc.status_code, _title(exc.status_code), str(exc.detail))


def on_unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ProblemDetails]:
    trace = uuid.uuid4().hex[:16]
    log.exception("unexpected error on %s %s (trace %s)", request.method, request.url.path, trace)
    return problem(request, 500, "Internal Server Error", f"Unexpected error in the gateway (trace {trace}).")


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def document_statuses(openapi: OpenAPI) -> None:
    """Each SmartFace operation of the served document lists exactly the error statuses SmartFace
    declares for it, plus those of ALWAYS_ALLOWED it may answer: a client generated from it meets
    no other. Each says which of Facegate's errors it stands for there."""
    for path, item in (openapi.paths or {}).items():
        for method in ("get", "put", "post", "delete", "patch"):
            operation, op = getattr(item, method, None), (method.upper(), path)
            codes = statuses.declared(op)
            if operation is None or operation.responses is None or codes is None:
                continue
            # What the controller documents (responses()) is what its errors may be by nature.
            natural = {int(code) for code in operation.responses if not code.startswith("2")}
            success = {code: answer for code, answer in operation.responses.items() if code.startswith("2")}
            errors = {c for c in codes if c >= 400} | (natural & statuses.ALWAYS_ALLOWED)
            operation.responses = success | {
                str(status): OpenAPIResponse(description=_describe(op, status, natural), content=_PROBLEM_BODY)
                for status in sorted(errors)
            }


_PROBLEM_BODY = {PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/ProblemDetails"))}


def _describe(op: Operation, status: int, natural: set[int]) -> str:
    """What `status` means in `op`: its own meaning and the errors answered with it there."""
    if statuses.answered(op, status) != status:
        return f"Declared by SmartFace; answered with {statuses.answered(op, status)} instead, as SmartFace does."
    meanings = [_DESCRIPTIONS[status]]
    meanings += [
        f"Also: {_DESCRIPTIONS[n][0].lower()}{_DESCRIPTIONS[n][1:]}"
        for n in sorted(natural - {status})
        if statuses.answered(op, n) == status
    ]
    return " ".join(meanings)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    FacegateError: on_facegate_error,
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    Exception: on_unexpected_error,
}
