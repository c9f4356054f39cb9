"""HTTP to the reference server: one keep-alive ``httpx.AsyncClient`` per device.

Theory of operation: a phone keeps its HTTPS connection to the sync server
open between requests (OkHttp and NSURLSession pool connections), so the
device holds one ``httpx.AsyncClient`` for its whole life and every sync and
file request reuses its pooled connection. This module knows the endpoints of
docs/protocol.md and nothing about policy: it turns an answer into a decoded
body or an :class:`ApiError` carrying the status, the server's ``error`` and
``where`` (protocol: "Every error is a 4xx with a JSON body ``{"error": ...,
"where": ...}``"), and a network failure into :class:`NetworkError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

import httpx

# File requests in flight at once: OkHttp's default Dispatcher.maxRequestsPerHost
# (5), the HTTP client most Android apps use. The engine may start more
# transfers than that; the driver queues them (client/app.py), as OkHttp does.
FILE_CONNECTIONS = 5
# Sync requests use their own pool, so a sync never waits behind file bodies:
# the engine runs one sync at a time; a second connection covers a late answer
# still draining while the next sync starts.
SYNC_CONNECTIONS = 2
# Keep idle connections this many wall seconds (httpx's default is 5 s; a
# Planado timer fires every 2 minutes of spec time, which is 2 s at K = 60).
KEEPALIVE_EXPIRY_S = 30.0
# Download stream read size.
READ_CHUNK_BYTES = 64 * 1024


# New connections the file requests of the current task opened (count_connects).
_CONNECTS: ContextVar[list[int] | None] = ContextVar("connects", default=None)


async def _on_trace(name: str, info: dict[str, Any]) -> None:
    # httpcore's "trace" request extension: one "connect_tcp" per new connection.
    if name == "connection.connect_tcp.complete":
        counter = _CONNECTS.get()
        if counter is not None:
            counter[0] += 1


# Passed on every file request (syncs do not need it, and tracing costs a little).
_COUNTED = {"trace": _on_trace}


def count_connects() -> list[int]:
    """From now on, in this task, count the new connections file requests open.

    A new connection pays a handshake round trip on any real link, which the
    link proxy does not add (its toxics delay data): the transfer's
    ``file_end`` says how many it opened (``connects``), and the drift
    estimator counts a round trip for each (bench/real/drift.py).
    """
    counter = [0]
    _CONNECTS.set(counter)
    return counter


class NetworkError(Exception):
    """The request got no HTTP answer (refused, reset, timed out)."""


class ApiError(Exception):
    """The server answered with a status we did not want."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body if isinstance(body, dict) else {}
        error = self.body.get("error") or (body if isinstance(body, str) else "")
        where = self.body.get("where")
        super().__init__(f"HTTP {status}: {error}" + (f" (at {where})" if where else ""))


def _body(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return r.text[:200]


class ServerApi:
    """The protocol's device endpoints over one pooled ``httpx.AsyncClient``."""

    def __init__(self, *, base_url: str, token: str, timeout_s: float,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        def pool(n: int) -> httpx.AsyncClient:
            # trust_env=False: the device talks to the URL it was given (a link
            # emulator on the bench), never to a proxy from the environment.
            return httpx.AsyncClient(
                base_url=base_url.rstrip("/"), headers={"Authorization": f"Bearer {token}"},
                timeout=timeout_s, transport=transport, trust_env=False,
                limits=httpx.Limits(max_connections=n, keepalive_expiry=KEEPALIVE_EXPIRY_S))

        self._client = pool(SYNC_CONNECTIONS)
        self._files = pool(FILE_CONNECTIONS)

    async def _call(self, method: str, url: str, ok: tuple[int, ...], **kw: Any) -> Any:
        if url == "/v1/sync":
            client = self._client
        else:
            client = self._files
            kw["extensions"] = _COUNTED
        try:
            r = await client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            raise NetworkError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
        body = _body(r)
        if r.status_code not in ok:
            raise ApiError(r.status_code, body)
        return body

    async def sync(self, request: dict[str, Any], *, timeout_s: float | None = None) -> Any:
        """``POST /v1/sync``; the decoded 200 body."""
        kw = {} if timeout_s is None else {"timeout": timeout_s}
        return await self._call("POST", "/v1/sync", (200,), json=request, **kw)

    async def upload_status(self, file: str) -> dict[str, Any]:
        """``GET /v1/files/{file}/upload``: ``{"offset", "complete", ...}``."""
        return await self._call("GET", f"/v1/files/{file}/upload", (200,))

    async def upload_chunk(self, file: str, offset: int, data: bytes) -> int:
        """``PATCH`` ``data`` at ``offset``; the server's new offset. On an offset
        mismatch (409 with ``offset``) the server's offset is returned instead."""
        try:
            body = await self._call(
                "PATCH", f"/v1/files/{file}/upload", (200,), content=data,
                headers={"Upload-Offset": str(offset),
                         "Content-Type": "application/octet-stream"})
        except ApiError as exc:
            if exc.status == 409 and isinstance(exc.body.get("offset"), int):
                return exc.body["offset"]
            raise
        return int(body["offset"])

    async def finish(self, file: str, sha256: str, nbytes: int) -> dict[str, Any]:
        """``POST /v1/files/{file}/finish``."""
        return await self._call("POST", f"/v1/files/{file}/finish", (200,),
                                json={"sha256": sha256, "bytes": nbytes})

    async def download(self, file: str, offset: int) -> AsyncIterator[bytes]:
        """``GET /v1/files/{file}`` from byte ``offset`` (a ``Range`` request)."""
        headers = {"Range": f"bytes={offset}-"} if offset > 0 else {}
        try:
            async with self._files.stream("GET", f"/v1/files/{file}", headers=headers,
                                          extensions=_COUNTED) as r:
                if r.status_code not in (200, 206):
                    await r.aread()
                    raise ApiError(r.status_code, _body(r))
                # A server that ignores Range sends the whole file (200): skip what
                # is already here rather than fail the resume.
                skip = offset if r.status_code == 200 else 0
                async for chunk in r.aiter_bytes(READ_CHUNK_BYTES):
                    if skip:
                        cut = min(skip, len(chunk))
                        chunk, skip = chunk[cut:], skip - cut
                    if chunk:
                        yield chunk
        except httpx.HTTPError as exc:
            raise NetworkError(f"GET /v1/files/{file}: {type(exc).__name__}: {exc}") from None

    async def aclose(self) -> None:
        await self._client.aclose()
        await self._files.aclose()
