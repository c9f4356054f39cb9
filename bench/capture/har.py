"""HAR entries as :class:`Exchange` records, the one input of the translator.

Theory of operation
-------------------
Live capture and ``syncbench import har`` meet here: the capture proxy writes
every finished flow as a HAR 1.2 entry (mitmproxy's own ``savehar`` format,
one per line in ``flows.jsonl``), and a HAR exported from Charles,
Proxyman, mitmproxy or browser devtools holds the same entries in
``{"log": {"entries": [...]}}``. Both become :class:`Exchange` records, so a
live capture and its HAR are judged by the very same code.

Times: ``startedDateTime`` (ISO 8601, any offset) is the request's first
byte; the end is ``startedDateTime + time``, except where the capture proxy
knew better (``_syncbench.end``: the moment an aborted transfer failed,
which HAR's ``time`` does not hold). WebSocket entries carry their messages
in ``_webSocketMessages`` (devtools' and mitmproxy's convention; ``time`` in
Unix seconds). Bodies are kept only as text (JSON is what the mapping reads);
sizes come from ``bodySize``, ``_syncbench`` or ``Content-Length``. The
first request of a connection starts when the capture accepted the connection
(``_syncbench.conn_start``), which a burst of new connections may not let it
read at once.

A malformed file is a :class:`HarError` naming the file, the entry and the
problem; at most :data:`MAX_ENTRIES` entries are read (a bound checked before
any is translated).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# One phone's working day at one sync a minute and a few transfers is some
# 5,000 entries; a million keeps a whole team's export while bounding memory.
MAX_ENTRIES = 1_000_000
# Bodies above this are not kept as text (a sync body is at most 1 MiB in the
# bench's protocol; bigger bodies are files).
MAX_TEXT_BYTES = 4 * 1024 * 1024


class HarError(ValueError):
    """A HAR file or capture log that cannot be read; the message is one line."""


@dataclass(slots=True, kw_only=True)
class Exchange:
    """One HTTP exchange (or WebSocket) as the translator sees it; times in Unix seconds."""

    t0: float
    t1: float
    method: str
    path: str
    host: str = ""
    query: str = ""
    req_headers: dict[str, str] = field(default_factory=dict)
    req_text: str | None = None
    req_bytes: int = 0
    status: int = 0  # 0: no response (the connection failed)
    resp_headers: dict[str, str] = field(default_factory=dict)
    resp_text: str | None = None
    resp_bytes: int = 0
    error: str | None = None
    listen: int | None = None  # the capture listener it came in on
    ws: list[tuple[float, bool, str]] | None = None  # (t, from_client, text)
    ws_closed: float | None = None
    # Parsed bodies: device attribution and translation read the same body
    # more than once (``json`` parses each at most once).
    _parsed: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and self.error is None

    def json(self, which: str) -> Any:
        """The request (``"req"``) or response body as parsed JSON, None when it is not."""
        if which not in self._parsed:
            text = self.req_text if which == "req" else self.resp_text
            try:
                self._parsed[which] = json.loads(text) if text else None
            except ValueError:
                self._parsed[which] = None
        return self._parsed[which]


def _time(v: Any, where: str) -> float:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)
    if not isinstance(v, str):
        raise HarError(f"{where}: not a time: {v!r}")
    try:
        return datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise HarError(f"{where}: not an ISO 8601 time: {v!r}") from None


def _headers(items: Any, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    if items is None:
        return out
    if not isinstance(items, list):
        raise HarError(f"{where}: headers must be a list")
    for h in items:
        if not isinstance(h, dict) or not isinstance(h.get("name"), str):
            raise HarError(f"{where}: a header without a name")
        out[h["name"].lower()] = str(h.get("value", ""))
    return out


def _content_text(content: Any) -> str | None:
    if not isinstance(content, dict):
        return None
    text = content.get("text")
    if not isinstance(text, str) or len(text) > MAX_TEXT_BYTES:
        return None
    if content.get("encoding") == "base64":
        try:
            raw = base64.b64decode(text)
            return raw.decode("utf-8") if len(raw) <= MAX_TEXT_BYTES else None
        except (ValueError, UnicodeDecodeError):
            return None  # a binary body: only its size matters
    return text


def _size(*candidates: Any) -> int:
    for c in candidates:
        if isinstance(c, int) and not isinstance(c, bool) and c >= 0:
            return c
        if isinstance(c, str) and c.isdigit():
            return int(c)
    return 0


def _span_ms(entry: dict, total: float, connect_inside: bool) -> float:
    """How long the exchange took, in ms. HAR 1.2: ``time`` is the sum of the
    timings, the connection's setup first. mitmproxy's export starts an entry
    at the request's first byte and opens the server connection after it, so
    its ``connect`` lies inside ``wait`` already: there only send + wait +
    receive count (``connect_inside``)."""
    timings = entry.get("timings")
    if not connect_inside or not isinstance(timings, dict):
        return total
    parts = [timings.get(k) for k in ("send", "wait", "receive")]
    nums = [p for p in parts if isinstance(p, int | float) and not isinstance(p, bool) and p >= 0]
    return sum(nums) if nums else total


def exchange_from_entry(entry: Any, where: str, *, connect_inside: bool = False) -> Exchange:
    """One HAR entry as an :class:`Exchange`; :class:`HarError` naming ``where``."""
    if not isinstance(entry, dict):
        raise HarError(f"{where}: an entry must be an object")
    req, resp = entry.get("request"), entry.get("response") or {}
    if not isinstance(req, dict) or not isinstance(req.get("url"), str):
        raise HarError(f"{where}: request.url is missing")
    if not isinstance(req.get("method"), str):
        raise HarError(f"{where}: request.method is missing")
    if "startedDateTime" not in entry:
        raise HarError(f"{where}: startedDateTime is missing")
    t0 = _time(entry["startedDateTime"], f"{where}: startedDateTime")
    total = entry.get("time", 0)
    if not isinstance(total, int | float) or isinstance(total, bool) or total < 0:
        total = 0
    extra = entry.get("_syncbench") or {}
    t1 = (float(extra["end"]) if isinstance(extra.get("end"), int | float)
          else t0 + _span_ms(entry, total, connect_inside) / 1000)
    if isinstance(extra.get("conn_start"), int | float) and extra["conn_start"] < t0:
        # A connection's first request was sent as it connected (the capture
        # accepted it then; reading the request may have waited on others).
        t0 = float(extra["conn_start"])
    url = urlsplit(req["url"])
    rq_h = _headers(req.get("headers"), f"{where}: request.headers")
    rs_h = _headers(resp.get("headers"), f"{where}: response.headers")
    post = req.get("postData") if isinstance(req.get("postData"), dict) else {}
    req_text = post.get("text") if isinstance(post.get("text"), str) else None
    if req_text is not None and len(req_text) > MAX_TEXT_BYTES:
        req_text = None
    status = resp.get("status", 0)
    status = status if isinstance(status, int) and not isinstance(status, bool) else 0
    error = resp.get("_error") if isinstance(resp.get("_error"), str) else extra.get("error")
    ws = None
    msgs = entry.get("_webSocketMessages")
    if isinstance(msgs, list):
        ws = []
        for j, m in enumerate(msgs):
            if not isinstance(m, dict) or m.get("type") not in ("send", "receive"):
                raise HarError(f"{where}: _webSocketMessages[{j}]: type must be send or receive")
            data = m.get("data")
            ws.append((_time(m.get("time"), f"{where}: _webSocketMessages[{j}].time"),
                       m["type"] == "send", data if isinstance(data, str) else ""))
    return Exchange(
        t0=t0, t1=max(t1, t0), method=req["method"].upper(), path=url.path or "/",
        host=url.hostname or "", query=url.query,
        req_headers=rq_h, req_text=req_text,
        req_bytes=_size(extra.get("req_bytes"), req.get("bodySize") if req.get("bodySize", -1) > 0
                        else None, len(req_text.encode()) if req_text else None,
                        rq_h.get("content-length")),
        status=status, resp_headers=rs_h, resp_text=_content_text(resp.get("content")),
        resp_bytes=_size(extra.get("resp_bytes"), resp.get("bodySize") if isinstance(
            resp.get("bodySize"), int) and resp["bodySize"] > 0 else None,
            (resp.get("content") or {}).get("size") if isinstance(resp.get("content"), dict)
            else None, rs_h.get("content-length")),
        error=error if (error or status == 0) else None,
        listen=extra.get("listen") if isinstance(extra.get("listen"), int) else None,
        ws=ws,
        ws_closed=float(extra["ws_closed"]) if isinstance(extra.get("ws_closed"), int | float)
        else None,
    )


def _entries_of(path: Path, creator: list[str] | None = None) -> Iterator[tuple[str, Any]]:
    """(where, entry) from a HAR file or a capture's ``flows.jsonl``; the HAR's
    ``log.creator.name`` goes into ``creator``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise HarError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        data = json.loads(raw)
    except ValueError:
        data = None  # not one JSON document: JSON lines (flows.jsonl), read below
    if isinstance(data, dict) and "request" not in data:
        log = data.get("log")
        entries = log.get("entries") if isinstance(log, dict) else None
        if not isinstance(entries, list):
            raise HarError(f"{path}: not a HAR file (no log.entries)")
        name = (log.get("creator") or {}).get("name") if isinstance(log.get("creator"), dict) else ""
        if creator is not None:
            creator.append(str(name or ""))
        for i, e in enumerate(entries):
            yield f"{path}: entry {i}", e
        return
    if data is not None and not isinstance(data, dict):
        raise HarError(f"{path}: not a HAR file (a JSON {type(data).__name__})")
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield f"{path}: line {n}", json.loads(line)
        except ValueError as exc:
            raise HarError(f"{path}: line {n}: not JSON ({exc})") from None


def read_exchanges(path: str | Path, *, limit: int = MAX_ENTRIES) -> list[Exchange]:
    """Every entry of a HAR file or ``flows.jsonl``, in request-start order."""
    path = Path(path)
    out: list[Exchange] = []
    creator: list[str] = []
    for where, entry in _entries_of(path, creator):
        if len(out) >= limit:
            raise HarError(f"{path}: more than {limit} entries (the limit of one import)")
        out.append(exchange_from_entry(entry, where,
                                       connect_inside=bool(creator) and creator[0] == "mitmproxy"))
    out.sort(key=lambda x: x.t0)
    return out


def exchanges(entries: Iterable[Any], source: str = "capture") -> list[Exchange]:
    """In-memory HAR entries (the live capture's) as exchanges, in start order."""
    out = [exchange_from_entry(e, f"{source}: entry {i}") for i, e in enumerate(entries)]
    out.sort(key=lambda x: x.t0)
    return out
