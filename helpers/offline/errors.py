"""API errors as the backend raises them, and the body the API sends for them."""

from __future__ import annotations

ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


class ApiError(Exception):
    """An error the API reports with an HTTP status and an error body."""

    def __init__(self, error_type: str, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status = ERROR_STATUS[error_type]
        self.headers = headers or {}


def invalid(message: str) -> ApiError:
    return ApiError("invalid_request_error", message)


def error_body(error_type: str, message: str, request_id: str) -> dict:
    return {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id}
