"""The mitmproxy addon that records an app's traffic and routes it through the link.

Theory of operation
-------------------
mitmproxy terminates the app's connections (HTTP, HTTPS with its CA,
WebSockets) and opens its own to the server. The addon does three things:

- **route**: in ``server_connect`` (mitmproxy is about to open a socket to
  the server) it points the socket at the link proxy that shapes this
  device's link, keeping the server name (TLS SNI, ``Host``) as it was, so
  the app's bytes cross the shaped link and the server sees nothing else;
- **stream**: bodies that are not JSON (photos, attachments) stream through
  at the link's pace instead of being buffered, counted as they pass;
- **record**: every finished flow becomes one HAR 1.2 entry (the fields of
  mitmproxy's own ``savehar`` export that matter here) with a ``_syncbench`` object for what HAR lacks (the
  listener it came in on, the moment a failed flow failed, bytes moved, the
  WebSocket's close), handed to ``sink`` -- the capture appends it to
  ``flows.jsonl`` at once. Open WebSockets are visible through :meth:`open_entries`
  so a live trace shows pushes before the socket closes.

mitmproxy is imported only here and in :mod:`bench.capture.live`.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from mitmproxy import http

Address = tuple[str, int]
_JSON = ("application/json", "text/", "application/problem+json")


def _is_text(headers: Any) -> bool:
    ctype = headers.get("content-type", "").lower()
    return any(ctype.startswith(p) for p in _JSON) or ctype.endswith("+json")


def _counter(flow: http.HTTPFlow, key: str) -> Callable[[bytes], bytes]:
    """A stream callable that lets bytes through and counts them in ``flow.metadata``."""
    flow.metadata[key] = 0

    def count(data: bytes) -> bytes:
        flow.metadata[key] += len(data)
        return data

    return count


class CaptureAddon:
    """See the module docs.

    ``routes``: listener port -> the link proxy address for connections that
    came in on it; ``via``: an awaitable callable giving the link proxy for a
    server address (regular mode, any host), or None to connect directly."""

    def __init__(self, *, sink: Callable[[dict], Any], routes: dict[int, Address] | None = None,
                 via: Callable[[Address], Awaitable[Address | None]] | None = None) -> None:
        self.sink = sink
        self.routes = dict(routes or {})
        self.via = via
        self._open: dict[str, http.HTTPFlow] = {}
        self._conns: set[str] = set()  # client connections that sent a request already

    # -- routing ------------------------------------------------------------
    async def server_connect(self, data: Any) -> None:
        port = data.client.sockname[1] if data.client.sockname else None
        target = self.routes.get(port)
        if target is None and self.via is not None and data.server.address is not None:
            target = await self.via(tuple(data.server.address))
        if target is not None:
            data.server.address = target

    # -- streaming ------------------------------------------------------------
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        conn = flow.client_conn.id
        if conn not in self._conns:
            # The first request of a connection left the app when it connected:
            # a burst of new connections can keep mitmproxy from reading it for
            # a tenth of a second, and at K = 20 that is two spec seconds.
            self._conns.add(conn)
            flow.metadata["sb_first"] = True
        if not _is_text(flow.request.headers) and flow.request.method in ("PUT", "PATCH", "POST"):
            flow.request.stream = _counter(flow, "sb_req_bytes")

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        assert flow.response is not None
        if not _is_text(flow.response.headers) and flow.response.status_code != 101:
            flow.response.stream = _counter(flow, "sb_resp_bytes")

    def client_disconnected(self, client: Any) -> None:
        self._conns.discard(client.id)

    # -- recording --------------------------------------------------------------
    def websocket_start(self, flow: http.HTTPFlow) -> None:
        self._open[flow.id] = flow

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        self._open.pop(flow.id, None)
        self._save(flow, closed=time.time())

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.websocket is None:
            self._save(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        if flow.websocket is None:
            self._save(flow)

    def entry(self, flow: http.HTTPFlow, closed: float | None = None) -> dict[str, Any]:
        """The HAR 1.2 entry of ``flow`` (the fields mitmproxy's export writes that the
        translator reads, built directly: the export's cookie and form parsing cost a
        quarter millisecond a flow) with the ``_syncbench`` extras."""
        req, resp = flow.request, flow.response
        t0 = req.timestamp_start
        end = None
        if flow.error is not None:
            end = flow.error.timestamp
        elif resp is not None and resp.timestamp_end:
            end = resp.timestamp_end
        entry: dict[str, Any] = {
            "startedDateTime": datetime.fromtimestamp(t0, UTC).isoformat(),
            "time": round(1000 * ((end or t0) - t0), 3),
            "request": {"method": req.method, "url": req.pretty_url,
                        "httpVersion": req.http_version,
                        "headers": [{"name": k, "value": v} for k, v in req.headers.items(True)],
                        "bodySize": len(req.raw_content) if req.raw_content else 0},
        }
        if req.raw_content and _is_text(req.headers):
            entry["request"]["postData"] = {"mimeType": req.headers.get("content-type", ""),
                                            "text": req.get_text(strict=False) or ""}
        if resp is not None:
            content: dict[str, Any] = {"size": len(resp.raw_content) if resp.raw_content else 0,
                                       "mimeType": resp.headers.get("content-type", "")}
            if resp.raw_content and _is_text(resp.headers):
                content["text"] = resp.get_text(strict=False) or ""
            entry["response"] = {"status": resp.status_code, "statusText": resp.reason,
                                 "httpVersion": resp.http_version,
                                 "headers": [{"name": k, "value": v}
                                             for k, v in resp.headers.items(True)],
                                 "content": content, "bodySize": content["size"]}
        else:
            entry["response"] = {"status": 0, "statusText": "", "headers": [], "content": {},
                                 "bodySize": -1,
                                 "_error": flow.error.msg if flow.error is not None else None}
        if flow.websocket is not None:
            entry["_resourceType"] = "websocket"
            entry["_webSocketMessages"] = [
                {"type": "send" if m.from_client else "receive", "time": m.timestamp,
                 "opcode": m.type.value,
                 "data": m.text if m.is_text else base64.b64encode(m.content).decode()}
                for m in flow.websocket.messages]
        extra: dict[str, Any] = {"listen": flow.client_conn.sockname[1]
                                 if flow.client_conn.sockname else None}
        if end is not None:
            extra["end"] = end
        if flow.metadata.get("sb_first") and flow.client_conn.timestamp_start:
            extra["conn_start"] = flow.client_conn.timestamp_start
        if "sb_req_bytes" in flow.metadata:
            extra["req_bytes"] = flow.metadata["sb_req_bytes"]
        if "sb_resp_bytes" in flow.metadata:
            extra["resp_bytes"] = flow.metadata["sb_resp_bytes"]
        if flow.error is not None:
            extra["error"] = flow.error.msg
        if closed is not None:
            extra["ws_closed"] = closed
        entry["_syncbench"] = extra
        return entry

    def _save(self, flow: http.HTTPFlow, closed: float | None = None) -> None:
        self.sink(self.entry(flow, closed))

    def open_entries(self) -> list[dict[str, Any]]:
        """Entries of the WebSockets still open (their messages so far)."""
        return [self.entry(f) for f in list(self._open.values())]
