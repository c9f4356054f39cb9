"""Small pieces shared by the HTTP endpoints: JSON in and out, timing, errors.

Theory of operation: every endpoint is an ``async def f(state, request)``
wrapped by :func:`endpoint`, which times it into the metrics, and turns an
:class:`ApiError` into ``{"error", "where"}`` with its status. JSON bodies are
read with a hard cap (``MAX_JSON_BYTES``) before parsing, so an oversized body
costs at most that much memory.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from reference_server.errors import ApiError, bad
from reference_server.limits import MAX_JSON_BYTES


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(exc: ApiError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def read_json(request: Request) -> Any:
    length = request.headers.get("content-length")
    if length is not None:
        if not (length.isascii() and length.isdigit()):
            raise bad("bad Content-Length", "Content-Length")
        if int(length) > MAX_JSON_BYTES:
            raise ApiError(413, f"body larger than {MAX_JSON_BYTES} bytes", None)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BYTES:
            raise ApiError(413, f"body larger than {MAX_JSON_BYTES} bytes", None)
    if not body:
        raise bad("empty body; expected a JSON object", None)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad(f"malformed JSON: {exc}", None) from None


Handler = Callable[[Any, Request], Awaitable[Response]]


def endpoint(state: Any, name: str, fn: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap ``fn(state, request)``: metrics under ``name``, ApiError -> JSON 4xx."""
    metrics = state.metrics

    async def run(request: Request) -> Response:
        t0 = time.perf_counter()
        try:
            resp = await fn(state, request)
        except ApiError as exc:
            resp = error_response(exc)
        metrics.record(name, time.perf_counter() - t0, resp.status_code >= 400)
        return resp

    return run
