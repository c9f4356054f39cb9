"""A small HTTP/1.1 server for the API: h11 over asyncio streams.

Theory of operation: one task per client connection reads requests with h11
(keep-alive, Content-Length or chunked bodies), hands each to the handler
``(method, target, body) -> (status, payload[, headers])`` and writes the
answer: JSON for dicts and lists, text for ``str``, no body for None. As
upstream does, every answer carries ``X-Toxiproxy-Request-Id``, and a request
whose User-Agent starts with ``Mozilla/`` is refused with 403 unless browsers
are allowed ("StopBrowsersMiddleware": a web page must not be able to
reconfigure a developer's proxy). ``HEAD`` is answered as ``GET`` without the
body. The API is small and
called a few times a second, so clarity beats speed here; the data path does
not go through this module.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import h11

Handler = Callable[[str, str, bytes], Awaitable[tuple[int, Any]]]

# Largest request body accepted (a /populate of many proxies is a few KB).
MAX_BODY = 1024 * 1024
READ_SIZE = 64 * 1024


def _encode(payload: Any) -> tuple[bytes, str]:
    if payload is None:
        return b"", ""
    if isinstance(payload, str):
        return payload.encode(), "text/plain; version=0.0.4; charset=utf-8"
    return json.dumps(payload).encode(), "application/json"


class RequestIds:
    """Unique request ids for one server: a random prefix and a counter."""

    def __init__(self) -> None:
        self.prefix = secrets.token_hex(6)
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"{self.prefix}{self.n:08x}"


async def _send(writer: asyncio.StreamWriter, conn: h11.Connection, status: int, payload: Any,
                request_id: str, extra: list[tuple[str, str]] = (), *, head: bool = False) -> None:
    body, ctype = _encode(payload)
    headers = [("server", "syncbench-toxiproxy"), ("x-toxiproxy-request-id", request_id), *extra]
    if status != 204:
        headers += [("content-type", ctype or "application/json"), ("content-length", str(len(body)))]
    out = conn.send(h11.Response(status_code=status, headers=headers))
    # A HEAD answer declares the GET body's length and sends none (h11 refuses more).
    if body and not head:
        out += conn.send(h11.Data(data=body))
    out += conn.send(h11.EndOfMessage())
    writer.write(out)
    await writer.drain()


BROWSER_REFUSED = {"error": "User agent not allowed", "status": 403}


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                           handler: Handler, *, allow_browsers: bool = False,
                           ids: RequestIds | None = None) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_BODY)
    ids = ids or RequestIds()
    try:
        while True:
            method = target = None
            browser = False
            body = bytearray()
            while True:
                try:
                    event = conn.next_event()
                except h11.RemoteProtocolError as exc:
                    if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                        await _send(writer, conn, 400, {"error": f"bad request: {exc}", "status": 400},
                                    ids.next())
                    return
                if event is h11.NEED_DATA:
                    data = await reader.read(READ_SIZE)
                    conn.receive_data(data)
                    if not data and conn.their_state is not h11.DONE:
                        return
                    continue
                if isinstance(event, h11.Request):
                    method = event.method.decode("ascii", "replace")
                    target = event.target.decode("ascii", "replace")
                    browser = any(k == b"user-agent" and v.startswith(b"Mozilla/")
                                  for k, v in event.headers)
                elif isinstance(event, h11.Data):
                    body += event.data
                    if len(body) > MAX_BODY:
                        await _send(writer, conn, 413, {"error": "request body too large", "status": 413},
                                    ids.next())
                        return
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    return
            head = method == "HEAD"
            if browser and not allow_browsers:
                status, payload, extra = 403, BROWSER_REFUSED, []
            else:
                answer = await handler("GET" if head else method, target, bytes(body))
                status, payload, extra = (*answer, [])[:3]
            await _send(writer, conn, status, payload, ids.next(), extra, head=head)
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            conn.start_next_cycle()
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()
