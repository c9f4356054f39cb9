"""The one error type the server raises for bad requests.

Theory of operation: validation, auth and core logic raise :class:`ApiError`
with an HTTP status, a one-line message and where the problem is (a JSON path
like ``changes[0].base_version``, a header or a query parameter). The HTTP
adapter turns it into ``{"error": ..., "where": ...}``; since every check runs
before anything is written (or inside a transaction that is rolled back),
"nothing stored" holds for every error.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A 4xx answer: ``status``, ``error`` (what) and ``where``."""

    def __init__(self, status: int, error: str, where: str | None = None, **extra: Any):
        super().__init__(f"{status} {error} at {where}")
        self.status = status
        self.error = error
        self.where = where
        self.extra = extra

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.error, "where": self.where}
        out.update(self.extra)
        return out


def bad(error: str, where: str | None = None) -> ApiError:
    """400: malformed request."""
    return ApiError(400, error, where)


def not_found(what: str = "not found", where: str | None = None) -> ApiError:
    return ApiError(404, what, where)


def conflict(error: str, where: str | None = None, **extra: Any) -> ApiError:
    return ApiError(409, error, where, **extra)
