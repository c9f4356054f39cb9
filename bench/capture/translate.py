"""Traffic to trace: exchanges and a mapping in, ``syncbench.trace/1`` events out.

Theory of operation (pure: no clock, no sockets)
------------------------------------------------
:func:`traffic_events` walks the exchanges in request-start order and asks the
mapping what each one is. Times become spec seconds ``(unix - epoch) * K``.
One exchange gives::

    sync      sync_start(t0) · edit(saved_at) per change first seen · ack, recv · sync_end(t1)
    file      file_start(first request of the transfer) … file_end(finish / failure)
    push      push_channel up(t0) · push per server frame matching ``when`` · down(close)

The device of an exchange is the first of: the capture listener it came in on,
the mapping's ``device`` sources (a JSON body field, a header, a query
parameter), the device a bearer token was seen with (two passes, so a file
request before the first sync is still attributed), the one ``--device``.
What the app alone knows, and the traffic cannot show, stays out: an edit
appears only when a change carries its save time (``saved_at``), since a
change's first upload is not when the user saved it.

``recv`` and ``ack`` mirror what a device stores: a refused ack (``error``)
is no ack, and a record is received when its version is new to the device.

:func:`assemble` adds what the capture knows besides the traffic -- the link
class it imposed, the app log, the bench's own server record -- assumes the
app running from a device's first request when no app log says otherwise
(said in the meta's ``capture.assumed``), infers each sync's trigger from
what precedes it (:func:`infer_triggers`), and returns a sorted trace with
its meta line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from collections.abc import Mapping as MappingT
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from bench.capture.har import Exchange
from bench.capture.mapping import Mapping, dig
from bench.trace.schema import SCHEMA

# Causal order of kinds at one instant (spec/trace.md: "equal t happen in file
# order"): what happened first is written first.
_RANK = {"meta": -1, "link": 0, "app": 1, "manual": 2, "edit": 2, "push_channel": 3, "push": 3,
         "sync_start": 4, "file_start": 5, "ack": 6, "recv": 7, "file_end": 8, "sync_end": 9,
         "unsent": 10, "last_sync": 10, "snapshot": 11}
# How long before a sync a visible cause still explains it (rules.md respond_s).
CAUSE_WINDOW_S = 5.0
ONLINE = "online"


@dataclass(slots=True)
class Traffic:
    """What :func:`traffic_events` found."""

    events: list[dict[str, Any]] = field(default_factory=list)
    first_seen: dict[str, float] = field(default_factory=dict)
    edits: dict[str, dict[str, Any]] = field(default_factory=dict)  # change id -> edit event
    ignored: int = 0
    unattributed: int = 0
    before_epoch: int = 0

    @property
    def devices(self) -> list[str]:
        return sorted(self.first_seen)


def to_unix(value: Any, clock: str) -> float | None:
    """A saved-at value on the mapping's clock, in Unix seconds (None when unreadable)."""
    if value is None or isinstance(value, bool):
        return None
    if clock == "iso":
        if not isinstance(value, str):
            return None
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    return value / 1000 if clock == "unix_ms" else float(value)


class _Ids:
    """Which device an exchange belongs to (see the module docs)."""

    def __init__(self, mapping: Mapping, listeners: MappingT[int, str] | None,
                 device: str | None) -> None:
        self.m, self.listeners, self.device = mapping, dict(listeners or {}), device
        self.tokens: dict[str, str] = {}

    def direct(self, x: Exchange) -> str | None:
        if x.listen is not None and x.listen in self.listeners:
            return self.listeners[x.listen]
        for src, name in self.m.device:
            if src == "header":
                v = x.req_headers.get(name.lower())
            elif src == "query":
                v = (parse_qs(x.query).get(name) or [None])[0]
            else:
                body = x.json("req")
                v = dig(body, name) if isinstance(body, dict) else None
            if isinstance(v, str) and v:
                return v
        return self.device

    def learn(self, x: Exchange) -> None:
        dev = self.direct(x)
        tok = self._token(x)
        if dev is not None and tok is not None:
            self.tokens.setdefault(tok, dev)

    def _token(self, x: Exchange) -> str | None:
        if self.m.token is None:
            return None
        v = x.req_headers.get(self.m.token)
        if v is None and self.m.token == "authorization" and x.query:
            q = parse_qs(x.query).get("token")  # WebSockets that cannot set headers
            v = f"Bearer {q[0]}" if q else None
        return v

    def __call__(self, x: Exchange) -> str | None:
        return self.direct(x) or self.tokens.get(self._token(x) or "")


def traffic_events(xs: Iterable[Exchange], mapping: Mapping, *, epoch: float, k: float = 1.0,
                   listeners: MappingT[int, str] | None = None,
                   device: str | None = None) -> Traffic:
    """Device events from traffic alone; see the module docs."""
    xs = sorted(xs, key=lambda x: x.t0)
    ids = _Ids(mapping, listeners, device)
    for x in xs:
        ids.learn(x)
    out = Traffic()
    st = _State(out, mapping, epoch, k)
    for x in xs:
        dev = ids(x)
        if dev is None:
            out.unattributed += 1
            continue
        if x.t0 < epoch:
            out.before_epoch += 1
            continue
        if not st.one(dev, x):
            out.ignored += 1
    return out


class _State:
    def __init__(self, out: Traffic, m: Mapping, epoch: float, k: float) -> None:
        self.out, self.m, self.epoch, self.k = out, m, epoch, k
        self.n_sync: dict[str, int] = {}
        self.version: dict[tuple[str, str], int] = {}  # (dev, record) -> version the device holds
        self.acked: set[tuple[str, str]] = set()
        # (dev, file, dir) -> [bytes moved, its file_start event]
        self.transfers: dict[tuple[str, str, str], list] = {}

    def t(self, unix: float) -> float:
        return round((unix - self.epoch) * self.k, 6)

    def emit(self, ev: str, t: float, dev: str, **fields: Any) -> None:
        self.out.events.append({"t": t, "ev": ev, "dev": dev, **fields})

    def one(self, dev: str, x: Exchange) -> bool:
        m = self.m
        if x.ws is not None or x.status == 101:
            if m.push is not None and m.push.path.search(x.path):
                self.seen(dev, x)
                self.push(dev, x)
                return True
            return False
        if m.sync is not None and m.sync.match(x.method, x.path):
            self.seen(dev, x)
            self.sync(dev, x)
            return True
        for f in m.files:
            found = f.match(x.method, x.path)
            if found:
                self.seen(dev, x)
                self.file(dev, x, f, found.group("file"))
                return True
        return False

    def seen(self, dev: str, x: Exchange) -> None:
        self.out.first_seen.setdefault(dev, self.t(x.t0))

    # -- push -------------------------------------------------------------
    def push(self, dev: str, x: Exchange) -> None:
        p = self.m.push
        assert p is not None
        if x.status != 101 and x.ws is None:
            return  # a refused handshake: no channel
        self.emit("push_channel", self.t(x.t0), dev, up=True)
        for t, from_client, text in x.ws or ():
            if from_client:
                continue
            try:
                msg = json.loads(text)
            except ValueError:
                continue
            if not isinstance(msg, dict) or any(msg.get(k) != v for k, v in p.when.items()):
                continue
            record = dig(msg, p.record)
            if not isinstance(record, str):
                continue
            fields: dict[str, Any] = {"record": record}
            reason = dig(msg, p.reason) if p.reason else None
            if isinstance(reason, str):
                fields["reason"] = reason
            self.emit("push", self.t(t), dev, **fields)
        if x.ws_closed is not None:
            self.emit("push_channel", self.t(x.ws_closed), dev, up=False)

    # -- sync ---------------------------------------------------------------
    def sync(self, dev: str, x: Exchange) -> None:
        s = self.m.sync
        assert s is not None
        n = self.n_sync[dev] = self.n_sync.get(dev, 0) + 1
        sid = f"{dev}-x{n}"
        t0, t1 = self.t(x.t0), self.t(x.t1)
        self.emit("sync_start", t0, dev, sync=sid, trigger="timer")  # inferred in assemble()
        body = x.json("req")
        changes = dig(body, s.changes) if s.changes is not None else None
        for c in changes if isinstance(changes, list) else ():
            if not isinstance(c, dict):
                continue
            cid, record = dig(c, s.change.get("id")), dig(c, s.change.get("record"))
            if not isinstance(cid, str) or not isinstance(record, str) or cid in self.out.edits:
                continue
            saved = to_unix(dig(c, s.change.get("saved_at")), s.saved_at_clock)
            if saved is None:
                continue  # no save time: the first upload is not when the user saved it
            kind = s.kinds.get(str(dig(c, s.change.get("kind"))), "text")
            # Saved before the capture began: it was waiting at t = 0.
            edit = {"t": max(0.0, min(self.t(saved), t0)), "ev": "edit", "dev": dev, "change": cid,
                    "record": record, "kind": kind}
            fields = dig(c, s.change.get("fields"))
            if isinstance(fields, dict) and kind == "text":
                edit["fields"] = fields  # the values the ledger holds the server to
            elif isinstance(fields, dict) and isinstance(fields.get("status"), str):
                edit["status"] = fields["status"]
            size = dig(c, s.change.get("bytes"))
            if kind == "photo" and isinstance(size, int) and not isinstance(size, bool):
                edit["bytes"] = size
            self.out.edits[cid] = edit
        resp = x.json("resp") if x.ok else None
        ok = x.ok and (resp is not None or s.acks is None and s.records is None)
        if ok:
            acks = dig(resp, s.acks) if s.acks is not None else None
            for a in acks if isinstance(acks, list) else ():
                if not isinstance(a, dict):
                    continue
                cid = dig(a, s.ack.get("change"))
                if not isinstance(cid, str) or (dev, cid) in self.acked:
                    continue
                if s.ack.get("error") and dig(a, s.ack["error"]) is not None:
                    continue  # refused: "not saved" (docs/protocol.md)
                self.acked.add((dev, cid))
                v = dig(a, s.ack.get("version"))
                fields: dict[str, Any] = {"change": cid}
                if isinstance(v, int) and not isinstance(v, bool):
                    fields["version"] = v
                    rec = dig(a, s.ack.get("record"))
                    if isinstance(rec, str):
                        held = self.version.get((dev, rec))
                        if held is None or v > held:
                            self.version[(dev, rec)] = v
                self.emit("ack", t1, dev, **fields)
            records = dig(resp, s.records) if s.records is not None else None
            for r in records if isinstance(records, list) else ():
                rid, v = dig(r, s.record.get("id")), dig(r, s.record.get("version"))
                if not isinstance(rid, str) or not isinstance(v, int) or isinstance(v, bool):
                    continue
                held = self.version.get((dev, rid))
                if held is not None and v <= held:
                    continue  # nothing new, or older than what an ack gave
                self.version[(dev, rid)] = v
                self.emit("recv", t1, dev, record=rid, version=v, sync=sid)
            self.emit("sync_end", t1, dev, sync=sid, ok=True)
        else:
            why = x.error or (f"HTTP {x.status}" if x.status else "no response")
            self.emit("sync_end", t1, dev, sync=sid, ok=False, error=why[:200])

    # -- files ----------------------------------------------------------------
    def file(self, dev: str, x: Exchange, f: Any, fid: str) -> None:
        key = (dev, fid, f.dir)
        t0, t1 = self.t(x.t0), self.t(x.t1)
        if key not in self.transfers:
            if f.role == "finish" and not x.ok:
                return  # finishing what never started (a probe of the app's own)
            size = x.req_headers.get(f.bytes) if f.bytes else None
            total = int(size) if size and size.isdigit() else (
                x.req_bytes if f.dir == "up" else _total(x))
            self.emit("file_start", t0, dev, file=fid, dir=f.dir, bytes=total)
            self.transfers[key] = [0, self.out.events[-1]]
        state = self.transfers[key]
        if f.role in ("body", "whole"):
            state[0] += x.req_bytes if f.dir == "up" else x.resp_bytes
            if not state[1]["bytes"]:  # an offset probe opened it: the body tells the size
                state[1]["bytes"] = x.req_bytes if f.dir == "up" else _total(x)
        moved = state[0]
        if not x.ok:
            del self.transfers[key]
            why = x.error or (f"HTTP {x.status}" if x.status else "no response")
            self.emit("file_end", t1, dev, file=fid, dir=f.dir, ok=False, bytes=moved,
                      error=why[:200])
        elif f.role in ("finish", "whole"):
            del self.transfers[key]
            self.emit("file_end", t1, dev, file=fid, dir=f.dir, ok=True, bytes=moved)


def _total(x: Exchange) -> int:
    """A download's full size: Content-Range's total, else the body's."""
    cr = x.resp_headers.get("content-range", "")
    if "/" in cr and cr.rsplit("/", 1)[1].isdigit():
        return int(cr.rsplit("/", 1)[1])
    return x.resp_bytes


# -- assembly -----------------------------------------------------------------

def infer_triggers(events: list[dict[str, Any]], *, save_causes: bool = False,
                   window_s: float = CAUSE_WINDOW_S) -> None:
    """Name each traffic sync's trigger from what precedes it, in place.

    A sync right after its device's failed one is a ``retry``; else the latest
    cause within ``window_s`` before it that no earlier sync took -- the app
    opened or restored (``open``), a ``manual`` request, a status edit
    (``status``), a text edit when saves upload (``save``), a ``push``, the link
    coming back (``link``), a photo's upload done (``file``); else ``timer``. A cause that comes while a sync is
    in progress counts from that sync's end, as rules.md's respond() does ("if
    a sync is in progress at E, the t of that sync's sync_end"). Only the
    traffic's own syncs (ids ``<dev>-x<n>``) are renamed."""
    causes: dict[str, list[tuple[float, str]]] = {}
    pending: dict[str, list[str]] = {}
    running: dict[str, set[str]] = {}
    online: dict[str, bool] = {}
    used: set[tuple[str, int]] = set()
    failed: dict[str, bool] = {}
    for ev in events:
        dev, kind = ev.get("dev"), ev["ev"]
        if dev is None:
            continue
        label = None
        if kind == "app" and ev["state"] in ("opened", "restored"):
            label = "open"
        elif kind == "manual":
            label = "manual"
        elif kind == "edit" and ev["kind"] == "status":
            label = "status"
        elif kind == "edit" and save_causes:
            label = "save"
        elif kind == "push":
            label = "push"
        elif kind == "file_end" and ev["dir"] == "up" and ev["ok"]:
            label = "file"  # a photo is up: the change that attaches it follows
        elif kind == "link":
            up = ev["class"] != "offline"
            if up and not online.get(dev, False):
                label = "link"
            online[dev] = up
        elif kind == "sync_end":
            failed[dev] = not ev["ok"]
            busy = running.get(dev, set())
            busy.discard(ev["sync"])
            if not busy:
                for held in pending.pop(dev, ()):
                    causes.setdefault(dev, []).append((ev["t"], held))
            continue
        elif kind == "sync_start":
            running.setdefault(dev, set()).add(ev["sync"])
            if not str(ev["sync"]).startswith(f"{dev}-x"):
                continue
            ev["trigger"] = "retry" if failed.get(dev) else _take(
                causes.get(dev, []), ev["t"], window_s, dev, used)
            continue
        if label is not None:
            if running.get(dev):
                pending.setdefault(dev, []).append(label)
            else:
                causes.setdefault(dev, []).append((ev["t"], label))


def _take(causes: list[tuple[float, str]], t: float, window_s: float, dev: str,
          used: set[tuple[str, int]]) -> str:
    for i in range(len(causes) - 1, -1, -1):
        at, label = causes[i]
        if at > t:
            continue
        if at < t - window_s:
            break
        if (dev, i) not in used:
            used.add((dev, i))
            return label
    return "timer"


def build_trace(exchanges: Iterable[Exchange], mapping: Mapping, *, policy: str, epoch: float,
                k: float = 1.0, listeners: MappingT[int, str] | None = None,
                device: str | None = None, **kw: Any) -> list[dict[str, Any]]:
    """:func:`traffic_events` then :func:`assemble`: the whole trace of a capture."""
    traffic = traffic_events(exchanges, mapping, epoch=epoch, k=k, listeners=listeners,
                             device=device)
    return assemble(traffic, policy=policy, epoch=epoch, k=k, mapping=mapping.name, **kw)


# How long after its last byte an app may finish a sync and show it, in wall
# seconds: JSON and a database commit on a phone. Times the wire shows stand
# for the app's own by this much (meta ``observation_lag_s`` = this x K).
APP_LAG_S = 0.25


def assemble(traffic: Traffic, *, policy: str, epoch: float, k: float = 1.0,
             app_lag_s: float = APP_LAG_S,
             links: MappingT[str | None, list[tuple[float, str]]] | None = None,
             app_log: list[dict[str, Any]] | None = None,
             others: Iterable[dict[str, Any]] = (), settled: bool = False,
             mapping: str = "", extra_meta: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """A whole trace (meta first) from traffic and what the capture knows besides.

    ``links``: per device (or ``None`` for every device) the ``(t, class)``
    steps the capture imposed; ``app_log``: trace events from the app's own log
    (:mod:`bench.capture.applog`); ``others``: events from elsewhere kept as
    they are (the bench's dispatcher and server record, ``link`` events)."""
    app_log = list(app_log or ())
    logged_app = {e["dev"] for e in app_log if e["ev"] == "app"}
    logged_edits = {e["change"] for e in app_log if e["ev"] == "edit"}
    events: list[dict[str, Any]] = list(traffic.events) + app_log
    assumed = []
    for dev, t in traffic.first_seen.items():
        if dev not in logged_app:
            events.append({"t": t, "ev": "app", "dev": dev, "state": "opened"})
    if set(traffic.first_seen) - logged_app:
        assumed.append("the app runs from a device's first request to the end (no app log)")
    events += [e for cid, e in traffic.edits.items() if cid not in logged_edits]
    for dev in sorted(set(traffic.first_seen) | {e["dev"] for e in app_log if e.get("dev")}):
        for t, cls in (links or {}).get(dev, (links or {}).get(None, ())):
            events.append({"t": t, "ev": "link", "dev": dev, "class": cls})
    events += list(others)
    events.sort(key=lambda e: (e["t"], _RANK.get(e["ev"], 5)))
    infer_triggers(events, save_causes=policy == "playmaker")
    meta: dict[str, Any] = {"ev": "meta", "schema": SCHEMA, "policy": policy, "settled": settled,
                            "time_scale": k, "epoch": epoch, "server_trace": False,
                            "source": "traffic", "observation_lag_s": round(app_lag_s * k, 6),
                            "capture": {"mapping": mapping, "app_log": bool(app_log),
                                        "assumed": assumed, "devices": traffic.devices,
                                        "ignored": traffic.ignored,
                                        "unattributed": traffic.unattributed,
                                        "before_epoch": traffic.before_epoch}}
    if extra_meta:
        meta.update(extra_meta)
    return [meta, *events]
