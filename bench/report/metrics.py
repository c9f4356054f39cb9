"""Metrics computed from a trace in one streaming pass.

Theory of operation
-------------------
:class:`MetricsBuilder` takes events one at a time (``feed``) and keeps only
per-device state (link class, running since, last sync start, displayed
Unsent) and the items still open (an edit not yet acked, a dispatcher change
not yet received, a push not yet delivered, a transfer not yet ended). Every
sample goes into a bounded :class:`~bench.report.samples.Distribution`, every
time series into bounded :class:`~bench.report.samples.Buckets`, so memory is
bounded by devices and open items, never by the trace's length.

What each metric measures (the derived state is trace.md's, "Derived state
the rules use"):

==================  =========================================================
sync interval       time between successive ``sync_start`` s of one device
                    while its app runs (a close resets it), by the link
                    class at the later one
syncs/device-hour   ``sync_start`` count over running time (foreground or
                    background); a device with no ``app`` event at all counts
                    its span from its first to its last event
staleness           a ``dispatch`` with an assignee -> that assignee's first
                    ``recv`` of the record at >= the dispatch's ``version``
                    (any version when the dispatch carries none), by the
                    assignee's link class at the dispatch. Dropped when the
                    record is reassigned before the device got it
upload delay        ``edit`` -> its ``ack``, by the link class at the edit
                    ("upload delay (edit -> ack) by the link class at edit time")
push delay          ``srv_push`` -> the device's next ``push`` of that record
bytes               ``file_end`` bytes (else the ``file_start`` bytes when ok)
                    by the link class at the transfer's start and ``dir``
failed sync ratio   ``sync_end`` with ``ok`` false over all ``sync_end`` s
unsent over time    the sum over devices of the displayed ``unsent`` ``n``,
                    and the true count (edits without an ack)
==================  =========================================================
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

from bench.report.keys import KEY_METRICS, key_metrics
from bench.report.samples import Distribution, count_buckets, level_buckets, level_series
from bench.trace.schema import LINK_CLASSES

METRICS_SCHEMA = "syncbench.metrics/1"
# trace.md: "Link class of a device at t: from its latest link event at or
# before t; offline before any."
DEFAULT_CLASS = "offline"
# Link classes in the order plots and tables list them, slowest first.
CLASS_ORDER = ("offline", "2g", "gprs", "edge", "3g", "hspa", "lte", "5g", "wifi")
assert set(CLASS_ORDER) == LINK_CLASSES
# "trigger is one of timer, open, ... (others allowed)": an open vocabulary,
# so a trace could name a new trigger on every sync. Past this many distinct
# names the rest are counted together, keeping memory bounded.
MAX_TRIGGERS = 32
OTHER_TRIGGER = "(other)"
_RUNNING = {"opened": True, "restored": True, "minimized": True, "closed": False}
# The distributions reported with a per-link-class breakdown and a CDF.
DISTRIBUTIONS = ("sync_interval_s", "staleness_s", "upload_delay_s", "push_delay_s")


# A rate per device-hour needs at least this much device time: a microsecond is
# the trace's time resolution (bench.trace.writer.T_DIGITS); over less, the
# rate is noise (and over a subnormal span, infinite).
MIN_RATE_SPAN_S = 1e-6

class _ByClass:
    """One distribution overall plus one per link class."""

    __slots__ = ("all", "by_class")

    def __init__(self) -> None:
        self.all = Distribution()
        self.by_class: dict[str, Distribution] = {}

    def add(self, cls: str, x: float) -> None:
        self.all.add(x)
        d = self.by_class.get(cls)
        if d is None:
            d = self.by_class[cls] = Distribution()
        d.add(x)

    def classes(self) -> list[str]:
        return [c for c in CLASS_ORDER if c in self.by_class] + sorted(set(self.by_class) - set(CLASS_ORDER))

    def summary(self) -> dict[str, Any]:
        out = self.all.summary()
        out["by_class"] = {c: self.by_class[c].summary() for c in self.classes()}
        return out

    def cdf(self) -> dict[str, list]:
        return {c: self.by_class[c].cdf() for c in self.classes()}


class _Dev:
    __slots__ = ("link", "running_since", "running_s", "saw_app", "first_t", "last_t",
                 "last_sync_start", "unsent_shown")

    def __init__(self, t: float) -> None:
        self.link = DEFAULT_CLASS
        self.running_since: float | None = None
        self.running_s = 0.0
        self.saw_app = False
        self.first_t = t
        self.last_t = t
        self.last_sync_start: float | None = None
        self.unsent_shown = 0


class MetricsBuilder:
    """Feed events in trace order, then call :meth:`result`."""

    def __init__(self) -> None:
        self.devs: dict[str, _Dev] = {}
        self.events = 0
        self.first_t: float | None = None
        self.last_t: float | None = None
        self.dist = {name: _ByClass() for name in DISTRIBUTIONS}
        self.upload_by_kind: dict[str, Distribution] = {}
        self.sync_starts = 0
        self.sync_ends = 0
        self.sync_failed = 0
        self.syncs_by_trigger: dict[str, int] = {}
        self.syncs_by_class: dict[str, int] = {}
        self.bytes: dict[str, dict[str, float]] = {}
        self.files: dict[str, dict[str, int]] = {}
        # Open items, bounded by what is in flight.
        self._edits: dict[tuple[str, str], tuple[float, str, str]] = {}
        self._stale: dict[str, dict[str, list[tuple[float, float | None, str]]]] = {}
        self._pushes: dict[tuple[str, str], deque[float]] = {}
        self._transfers: dict[tuple[str, str, str], tuple[float, str]] = {}
        self.unmatched_pushes = 0
        self.stale_dropped = 0
        self.unsent_shown_total = 0
        self.unsent_true_total = 0
        self.unsent_shown_max = 0
        self.unsent_true_max = 0
        self.unsent_shown = level_buckets()
        self.unsent_true = level_buckets()
        self.starts_series = count_buckets()

    # -- feeding -------------------------------------------------------------------
    def feed(self, ev: dict[str, Any]) -> None:
        kind = ev.get("ev")
        t = ev.get("t")
        if kind == "meta" or type(t) not in (int, float):
            return
        self.events += 1
        if self.first_t is None:
            self.first_t = t
        self.last_t = t
        handler = _HANDLERS.get(kind)
        if handler is None:
            return
        dev = ev.get("dev") if kind != "dispatch" else None
        ds = None
        if dev is not None:
            ds = self.devs.get(dev)
            if ds is None:
                ds = self.devs[dev] = _Dev(t)
            ds.last_t = t
        handler(self, ev, t, ds)

    def feed_all(self, events) -> MetricsBuilder:
        for ev in events:
            self.feed(ev)
        return self

    def _link(self, ev, t, ds) -> None:
        ds.link = ev["class"]

    def _app(self, ev, t, ds) -> None:
        ds.saw_app = True
        running = _RUNNING.get(ev["state"], False)
        if running and ds.running_since is None:
            ds.running_since = t
        elif not running and ds.running_since is not None:
            ds.running_s += t - ds.running_since
            ds.running_since = None
        if not running:
            # A closed app is not expected to sync: the next interval starts
            # at the next sync_start, not across the night the app was closed.
            ds.last_sync_start = None

    def _sync_start(self, ev, t, ds) -> None:
        self.sync_starts += 1
        trig = ev["trigger"]
        if trig not in self.syncs_by_trigger and len(self.syncs_by_trigger) >= MAX_TRIGGERS:
            trig = OTHER_TRIGGER
        self.syncs_by_trigger[trig] = self.syncs_by_trigger.get(trig, 0) + 1
        self.syncs_by_class[ds.link] = self.syncs_by_class.get(ds.link, 0) + 1
        self.starts_series.add(t, trig)
        if ds.last_sync_start is not None:
            self.dist["sync_interval_s"].add(ds.link, t - ds.last_sync_start)
        ds.last_sync_start = t

    def _sync_end(self, ev, t, ds) -> None:
        self.sync_ends += 1
        if not ev["ok"]:
            self.sync_failed += 1

    def _edit(self, ev, t, ds) -> None:
        key = (ev["dev"], ev["change"])
        if key not in self._edits:
            self._edits[key] = (t, ds.link, ev["kind"])
            self._set_true(t, +1)

    def _ack(self, ev, t, ds) -> None:
        item = self._edits.pop((ev["dev"], ev["change"]), None)
        if item is None:
            return
        t0, cls, kind = item
        self.dist["upload_delay_s"].add(cls, t - t0)
        d = self.upload_by_kind.get(kind)
        if d is None:
            d = self.upload_by_kind[kind] = Distribution()
        d.add(t - t0)
        self._set_true(t, -1)

    def _set_true(self, t: float, delta: int) -> None:
        self.unsent_true_total += delta
        self.unsent_true_max = max(self.unsent_true_max, self.unsent_true_total)
        self.unsent_true.add(t, (t, self.unsent_true_total))

    def _unsent(self, ev, t, ds) -> None:
        n = ev["n"]
        self.unsent_shown_total += n - ds.unsent_shown
        ds.unsent_shown = n
        self.unsent_shown_max = max(self.unsent_shown_max, self.unsent_shown_total)
        self.unsent_shown.add(t, (t, self.unsent_shown_total))

    def _dispatch(self, ev, t, ds) -> None:
        record, assignee = ev["record"], ev["assignee"]
        waiting = self._stale.get(record)
        if waiting:
            for other in [d for d in waiting if d != assignee]:
                # Reassigned before that device received it: it never will.
                self.stale_dropped += len(waiting.pop(other))
        if assignee is None:
            if waiting is not None and not waiting:
                del self._stale[record]
            return
        a = self.devs.get(assignee)
        cls = a.link if a is not None else DEFAULT_CLASS
        self._stale.setdefault(record, {}).setdefault(assignee, []).append((t, ev.get("version"), cls))

    def _recv(self, ev, t, ds) -> None:
        waiting = self._stale.get(ev["record"])
        if not waiting:
            return
        items = waiting.get(ev["dev"])
        if not items:
            return
        version = ev["version"]
        keep = []
        for t0, v, cls in items:
            if v is None or version >= v:
                self.dist["staleness_s"].add(cls, t - t0)
            else:
                keep.append((t0, v, cls))
        if keep:
            waiting[ev["dev"]] = keep
        else:
            del waiting[ev["dev"]]
            if not waiting:
                del self._stale[ev["record"]]

    def _srv_push(self, ev, t, ds) -> None:
        self._pushes.setdefault((ev["dev"], ev["record"]), deque()).append(t)

    def _push(self, ev, t, ds) -> None:
        key = (ev["dev"], ev["record"])
        q = self._pushes.get(key)
        if not q:
            self.unmatched_pushes += 1
            return
        self.dist["push_delay_s"].add(ds.link, t - q.popleft())
        if not q:
            del self._pushes[key]

    def _file_start(self, ev, t, ds) -> None:
        self._transfers[(ev["dev"], ev["file"], ev["dir"])] = (ev["bytes"], ds.link)

    def _file_end(self, ev, t, ds) -> None:
        started = self._transfers.pop((ev["dev"], ev["file"], ev["dir"]), None)
        cls = started[1] if started is not None else ds.link
        moved = ev.get("bytes")
        if moved is None:
            moved = started[0] if (started is not None and ev["ok"]) else 0
        d = ev["dir"]
        row = self.bytes.setdefault(cls, {"up": 0, "down": 0})
        row[d] = row.get(d, 0) + moved
        frow = self.files.setdefault(cls, {"up": 0, "down": 0})
        frow[d] = frow.get(d, 0) + 1

    # -- result ----------------------------------------------------------------------
    def device_hours(self) -> float:
        end = self.last_t or 0.0
        total = 0.0
        for ds in self.devs.values():
            if ds.saw_app:
                total += ds.running_s + (end - ds.running_since if ds.running_since is not None else 0.0)
            else:
                total += ds.last_t - ds.first_t
        return total / 3600.0

    def result(self) -> dict[str, Any]:
        hours = self.device_hours()
        order = [c for c in CLASS_ORDER if c in self.bytes] + sorted(set(self.bytes) - set(CLASS_ORDER))
        bytes_total = {"up": sum(r["up"] for r in self.bytes.values()),
                       "down": sum(r["down"] for r in self.bytes.values())}
        out: dict[str, Any] = {
            "schema": METRICS_SCHEMA,
            "events": self.events,
            "devices": len(self.devs),
            "duration_s": round((self.last_t or 0.0) - (self.first_t or 0.0), 6),
            "device_hours": round(hours, 6),
            "sync": {
                "starts": self.sync_starts,
                "ends": self.sync_ends,
                "failed": self.sync_failed,
                "failed_ratio": round(self.sync_failed / self.sync_ends, 6) if self.sync_ends else None,
                "per_device_hour": (round(self.sync_starts / hours, 6)
                                    if hours * 3600.0 >= MIN_RATE_SPAN_S else None),
                "by_trigger": dict(sorted(self.syncs_by_trigger.items())),
                "by_class": {c: self.syncs_by_class[c] for c in CLASS_ORDER if c in self.syncs_by_class},
            },
            "sync_interval_s": self.dist["sync_interval_s"].summary(),
            "staleness_s": {**self.dist["staleness_s"].summary(),
                            "pending": sum(len(v) for w in self._stale.values() for v in w.values()),
                            "dropped": self.stale_dropped},
            "upload_delay_s": {**self.dist["upload_delay_s"].summary(), "pending": len(self._edits),
                               "by_kind": {k: self.upload_by_kind[k].summary() for k in sorted(self.upload_by_kind)}},
            "push_delay_s": {**self.dist["push_delay_s"].summary(),
                             "undelivered": sum(len(q) for q in self._pushes.values()),
                             "unmatched": self.unmatched_pushes},
            "bytes": {"total": bytes_total, "by_class": {c: self.bytes[c] for c in order},
                      "files_by_class": {c: self.files[c] for c in order}},
            "unsent": {
                "shown_max": self.unsent_shown_max,
                "true_max": self.unsent_true_max,
                "shown_series": level_series(self.unsent_shown),
                "true_series": level_series(self.unsent_true),
                "bucket_s": self.unsent_true.width,
            },
            "sync_starts_series": {
                "bucket_s": self.starts_series.width,
                "buckets": [[t, dict(sorted(c.items()))] for t, c in self.starts_series.items()],
            },
            "cdf": {name: self.dist[name].cdf() for name in DISTRIBUTIONS},
        }
        out["key"] = key_metrics(out)
        return out


__all__ = ["CLASS_ORDER", "DISTRIBUTIONS", "KEY_METRICS", "METRICS_SCHEMA", "MetricsBuilder", "trace_metrics"]

_HANDLERS = {
    "link": MetricsBuilder._link,
    "app": MetricsBuilder._app,
    "sync_start": MetricsBuilder._sync_start,
    "sync_end": MetricsBuilder._sync_end,
    "edit": MetricsBuilder._edit,
    "ack": MetricsBuilder._ack,
    "unsent": MetricsBuilder._unsent,
    "dispatch": MetricsBuilder._dispatch,
    "recv": MetricsBuilder._recv,
    "srv_push": MetricsBuilder._srv_push,
    "push": MetricsBuilder._push,
    "file_start": MetricsBuilder._file_start,
    "file_end": MetricsBuilder._file_end,
}

def trace_metrics(path: str | Path) -> dict[str, Any]:
    """Metrics of the trace file at ``path``, in one streaming pass (see module docs).

    Raises :class:`bench.trace.TraceError` for a malformed trace.
    """
    from bench.trace import TraceReader

    return MetricsBuilder().feed_all(TraceReader(path)).result()
