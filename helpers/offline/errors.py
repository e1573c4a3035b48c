"""API errors as the backend raises them, and the body and headers the API sends for them."""

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

    def __init__(self, error_type: str, message: str, *, headers: dict[str, str] | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status = ERROR_STATUS[error_type]
        self.headers = headers or {}
        self.code = code  # ``error.details.error_code``, which the SDK maps to its own exception classes


def invalid(message: str) -> ApiError:
    return ApiError("invalid_request_error", message)


def error_body(error_type: str, message: str, request_id: str, code: str | None = None) -> dict:
    error: dict = {"type": error_type, "message": message}
    if code is not None:  # SDK 2.17 ``_exceptions.py``: the cause, in ``error.details.error_code``
        error["details"] = {"error_code": code}
    return {"type": "error", "error": error, "request_id": request_id}


def should_retry(status: int) -> bool:
    """Whether an error response tells the client to retry (its ``x-should-retry`` header).

    Recorded exchanges with the real API show ``false`` on 400 and 401 and ``true`` on 429.
    For the other statuses the kit follows the SDK's own rule for responses without the header
    (``anthropic/_base_client.py``, ``_should_retry``: 408, 409, 429 and every 5xx are retried),
    so 500 api_error, 504 timeout_error and 529 overloaded_error (which the errors page,
    https://platform.claude.com/docs/en/api/errors, describes as the API being temporarily
    overloaded) say ``true``, and every other 4xx says ``false``. The header therefore never
    changes what the SDK would have done; it only says it out loud.
    """
    return status in (408, 409, 429) or status >= 500


def error_headers(status: int) -> dict[str, str]:
    return {"x-should-retry": "true" if should_retry(status) else "false"}
