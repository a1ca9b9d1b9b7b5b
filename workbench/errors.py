"""One error hierarchy: every failure the workbench knows about is a WorkbenchError."""

from __future__ import annotations

from typing import Any


class WorkbenchError(Exception):
    """Root of the workbench's errors; ``status`` is the HTTP code a door should answer with."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, errors: dict[str, Any] | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        if status is not None:
            self.status = status

    def to_dict(self) -> dict[str, Any]:
        """Render the one error shape: ``{code, status, message, errors}``."""
        return {"code": self.code, "status": self.status, "message": self.message, "errors": self.errors}


class BadRequest(WorkbenchError):
    status = 400
    code = "bad_request"


class Unauthorized(WorkbenchError):
    status = 401
    code = "unauthorized"


class Forbidden(WorkbenchError):
    status = 403
    code = "forbidden"


class NotFound(WorkbenchError):
    status = 404
    code = "not_found"


class Conflict(WorkbenchError):
    status = 409
    code = "conflict"


class Gone(WorkbenchError):
    status = 410
    code = "gone"


class TooManyRequests(WorkbenchError):
    """Too many failed attempts; ``retry_after`` says in how many seconds to try again."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class PayloadTooLarge(WorkbenchError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(WorkbenchError):
    status = 415
    code = "unsupported_media_type"


class ValidationError(WorkbenchError):
    status = 422
    code = "validation_error"


class LabelStudioError(WorkbenchError):
    """Label Studio answered, but not with what we asked for."""

    status = 502
    code = "label_studio_error"


class LabelStudioUnavailable(LabelStudioError):
    """Label Studio could not be reached at all (refused, timed out, DNS)."""

    status = 503
    code = "label_studio_unavailable"
