"""Domain errors that cross the bus with their HTTP meaning.

A service raises one of these; the bus sends its status and detail in the NATS service error
headers and body; the caller re-raises the same class; the gateway maps it to a ProblemDetails
answer in one place. Anything else that escapes a handler becomes an InternalError whose text
never leaves the service (it is logged there).
"""

from __future__ import annotations

from typing import ClassVar


class FacegateError(Exception):
    """Base of every error that maps to an HTTP status."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal Server Error"

    def __init__(self, detail: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class ValidationFailed(FacegateError):
    status = 400
    title = "One or more validation errors occurred."


class NotFound(FacegateError):
    status = 404
    title = "Not Found"


class RequestTimeout(FacegateError):
    status = 408
    title = "Request Timeout"


class Conflict(FacegateError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(FacegateError):
    status = 413
    title = "Payload Too Large"


class UnsupportedMediaType(FacegateError):
    status = 415
    title = "Unsupported Media Type"


class Unprocessable(FacegateError):
    status = 422
    title = "Unprocessable Entity"


class TooManyRequests(FacegateError):
    status = 429
    title = "Too Many Requests"


class InternalError(FacegateError):
    status = 500
    title = "Internal Server Error"


class ServiceUnavailable(FacegateError):
    status = 503
    title = "Service Unavailable"


# Seconds a client should wait before retrying a 503 (the gateway sends it as `Retry-After`):
# long enough for a restarted worker or server to come back, short enough not to stall a client.
RETRY_AFTER_S = 5


class DependencyUnavailable(ServiceUnavailable):
    """A server a service depends on (Postgres, Redis, NATS) cannot be reached; crosses the bus
    as 503 with the dependency named in the detail."""

    def __init__(self, dependency: str, service: str, reason: str) -> None:
        super().__init__(f"{dependency} is unavailable, so the {service} service cannot answer ({reason}); retry.")
        self.dependency = dependency


ERRORS_BY_STATUS: dict[int, type[FacegateError]] = {
    cls.status: cls
    for cls in (
        ValidationFailed,
        NotFound,
        RequestTimeout,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        Unprocessable,
        TooManyRequests,
        InternalError,
        ServiceUnavailable,
    )
}


def error_for_status(status: int, detail: str, errors: dict[str, list[str]] | None = None) -> FacegateError:
    """Rebuild the typed error a remote service raised from its status code."""
    cls = ERRORS_BY_STATUS.get(status, InternalError)
    return cls(detail, errors=errors)
