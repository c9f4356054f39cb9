"""The app event log: what only the app knows, merged onto a traffic trace.

Theory of operation
-------------------
Traffic shows syncs, transfers and pushes; it cannot show the app being
opened, an edit saved and never sent, the Unsent counter or the last-sync
time on screen. A team adds a few log lines to its app -- JSON lines or CSV,
one event per line -- and the rules that need them become judgeable::

    {"t": 1733230000.412, "dev": "w1", "ev": "opened"}
    {"t": 1733230012.0, "dev": "w1", "ev": "edit", "change": "c7", "record": "job-3", "kind": "text"}
    t,dev,ev,n
    1733230012.1,w1,unsent,1

``t`` is Unix seconds, Unix milliseconds or ISO 8601 (told apart by value:
a number above 1e11 is milliseconds), or spec seconds when ``clock="trace"``.
``offset_s`` is added to every app time (the phone's clock against the
capture's). ``ev`` is a trace kind of the app's own (``app`` with ``state``,
``edit``, ``manual``, ``unsent``, ``last_sync``, ``push``, ``snapshot``) or a
shorthand: ``opened``/``minimized``/``restored``/``closed`` (an ``app``
event), ``status`` (an ``edit`` of kind status). ``dev`` may be left out when
``device`` is given. Each line becomes a trace event; a line that cannot is a
:class:`AppLogError` naming the file, the line and the field.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.trace.reader import validate_event

APP_STATES = ("opened", "minimized", "restored", "closed")
KINDS = ("app", "edit", "manual", "unsent", "last_sync", "push", "snapshot")
# A day of a chatty app's log at one line a second.
MAX_LINES = 1_000_000
_INTS = ("n", "bytes", "version")


class AppLogError(ValueError):
    """An app log line that cannot become a trace event; one line."""


def _unix(v: Any, where: str) -> float:
    if isinstance(v, str):
        s = v.strip()
        try:
            v = float(s)
        except ValueError:
            try:
                return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
            except ValueError:
                raise AppLogError(f"{where}: not a time (Unix s/ms or ISO 8601): {v!r}") from None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise AppLogError(f"{where}: not a time: {v!r}")
    return v / 1000 if v > 1e11 else float(v)


def _rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AppLogError(f"{path}: cannot read ({exc})") from None
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise AppLogError(f"{path}: more than {MAX_LINES} lines (the limit of one app log)")
    first = next((ln for ln in lines if ln.strip()), "")
    rows: list[tuple[int, dict[str, Any]]] = []
    if first.lstrip().startswith("{"):
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise AppLogError(f"{path}: line {n}: not JSON ({exc})") from None
            if not isinstance(row, dict):
                raise AppLogError(f"{path}: line {n}: not a JSON object")
            rows.append((n, row))
        return rows
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "ev" not in reader.fieldnames or "t" not in reader.fieldnames:
        raise AppLogError(f"{path}: line 1: a CSV app log needs columns t and ev")
    for n, row in enumerate(reader, 2):
        clean: dict[str, Any] = {}
        for key, value in row.items():
            if key is None or value in (None, ""):
                continue
            if key in _INTS and value.lstrip("-").isdigit():
                clean[key] = int(value)
            elif key in ("records", "fields"):
                try:
                    clean[key] = json.loads(value)
                except ValueError:
                    raise AppLogError(f"{path}: line {n}: {key}: not a JSON object") from None
            elif key == "at" and value == "null":
                clean[key] = None
            else:
                clean[key] = value
        rows.append((n, clean))
    return rows


def read_app_log(path: str | Path, *, epoch: float, k: float = 1.0, offset_s: float = 0.0,
                 device: str | None = None, clock: str = "unix") -> list[dict[str, Any]]:
    """The app log as trace events in spec time, sorted; see the module docs."""
    path = Path(path)
    out: list[dict[str, Any]] = []

    def spec(v: Any, where: str) -> float:
        if clock == "trace":
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise AppLogError(f"{where}: not a number of spec seconds: {v!r}")
            return float(v)
        return round((_unix(v, where) + offset_s - epoch) * k, 6)

    for n, row in _rows(path):
        where = f"{path}: line {n}"
        if "t" not in row or "ev" not in row:
            raise AppLogError(f"{where}: needs t and ev")
        ev = dict(row)
        kind = ev.pop("ev")
        if kind in APP_STATES:
            ev["state"], kind = kind, "app"
        elif kind == "status":
            kind, ev["kind"] = "edit", "status"
        if kind not in KINDS:
            raise AppLogError(f"{where}: ev {kind!r} is not an app event "
                              f"({', '.join(KINDS + APP_STATES)}, status)")
        t = spec(ev.pop("t"), f"{where}: t")
        if t < 0:
            continue  # before the capture began
        dev = ev.pop("dev", None) or device
        if not isinstance(dev, str):
            raise AppLogError(f"{where}: dev is missing (or give the one device)")
        if kind == "last_sync" and ev.get("at") is not None:
            ev["at"] = max(0.0, spec(ev["at"], f"{where}: at"))
        event = {"t": t, "ev": kind, "dev": dev, **ev}
        problem = validate_event(event)
        if problem:
            raise AppLogError(f"{where}: {problem}")
        out.append(event)
    out.sort(key=lambda e: e["t"])
    return out


def app_log_lines(events: list[dict[str, Any]], *, epoch: float, k: float = 1.0) -> list[str]:
    """Trace events of the app's own kinds as app log JSON lines (Unix times):
    what a team's app would write; the agreement tests write their logs with it."""
    lines = []
    for e in events:
        if e.get("ev") not in KINDS or e["ev"] == "push":
            continue
        row = {k2: v for k2, v in e.items() if k2 not in ("t", "dev", "ev")}
        if e["ev"] == "last_sync" and row.get("at") is not None:
            row["at"] = round(epoch + row["at"] / k, 6)
        if e["ev"] == "edit":
            row = {x: row[x] for x in ("change", "record", "kind", "bytes", "fields", "sha256",
                                        "status")
                   if x in row}
        lines.append(json.dumps({"t": round(epoch + e["t"] / k, 6), "dev": e["dev"],
                                 "ev": e["ev"], **row}))
    return lines
