"""A small HTTP/1.1 server for the API: h11 over asyncio streams.

Theory of operation: one task per client connection reads requests with h11
(keep-alive, Content-Length or chunked bodies), hands each to the handler
``(method, target, body) -> (status, payload)`` and writes the answer: JSON for
dicts and lists, text for ``str``, no body for None. The API is small and
called a few times a second, so clarity beats speed here; the data path does
not go through this module.
"""

from __future__ import annotations

import asyncio
import json
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


async def _send(writer: asyncio.StreamWriter, conn: h11.Connection, status: int, payload: Any) -> None:
    body, ctype = _encode(payload)
    headers = [("server", "syncbench-toxiproxy")]
    if status != 204:
        headers += [("content-type", ctype or "application/json"), ("content-length", str(len(body)))]
    out = conn.send(h11.Response(status_code=status, headers=headers))
    if body:
        out += conn.send(h11.Data(data=body))
    out += conn.send(h11.EndOfMessage())
    writer.write(out)
    await writer.drain()


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                           handler: Handler) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_BODY)
    try:
        while True:
            method = target = None
            body = bytearray()
            while True:
                try:
                    event = conn.next_event()
                except h11.RemoteProtocolError as exc:
                    if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                        await _send(writer, conn, 400, {"error": f"bad request: {exc}", "status": 400})
                    return
                if event is h11.NEED_DATA:
                    data = await reader.read(READ_SIZE)
                    conn.receive_data(data)
                    if not data and conn.their_state is not h11.DONE:
                        return
                    continue
                if isinstance(event, h11.Request):
                    method, target = event.method.decode(), event.target.decode()
                elif isinstance(event, h11.Data):
                    body += event.data
                    if len(body) > MAX_BODY:
                        await _send(writer, conn, 413, {"error": "request body too large", "status": 413})
                        return
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    return
            status, payload = await handler(method, target, bytes(body))
            await _send(writer, conn, status, payload)
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            conn.start_next_cycle()
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()
