"""API errors with the messages and status codes of upstream Toxiproxy (api.go)."""

from __future__ import annotations


class ApiError(Exception):
    """An answer other than success: ``{"error": message, "status": status}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict:
        return {"error": self.message, "status": self.status}


# Upstream's messages, word for word.
PROXY_NOT_FOUND = "proxy not found"
TOXIC_NOT_FOUND = "toxic not found"
PROXY_EXISTS = "proxy already exists"
TOXIC_EXISTS = "toxic already exists"
MISSING_FIELD = "missing required field"
INVALID_TOXIC_TYPE = "invalid toxic type"
INVALID_STREAM = "stream was invalid, can be either upstream or downstream"
BAD_BODY = "bad request body"


def not_found(what: str) -> ApiError:
    return ApiError(404, PROXY_NOT_FOUND if what == "proxy" else TOXIC_NOT_FOUND)


def bad_body(detail: str) -> ApiError:
    return ApiError(400, f"{BAD_BODY}: {detail}")


def missing(field: str) -> ApiError:
    return ApiError(400, f"{MISSING_FIELD}: {field}")
