"""core.converge: after the settle window the device and the server agree.

Theory: the device's last ``snapshot`` and the server's last ``srv_snapshot``
of it are compared record by record (versions). With the bench's reading of
the server's records (``srv_record``) and a snapshot that carries value
digests (``digests``), records at equal versions are compared by value too:
a device holding other field values than the server is as unconverged as one
a version behind. Each difference says who it points at: a record whose last
change (``dispatch``, ``srv_apply``, or the device's own ``ack``) came before
a successful sync of the device is one the server did not deliver -- the
server's fault -- and the message says so.
"""

from __future__ import annotations

import hashlib
import json

from bench.rules.base import Rule, fmt_t, register

# json.dumps with these options builds an encoder per call; one, built once, is the
# same text for a third less (a fleet's snapshots digest every record it holds).
_DIGEST_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def fields_digest(fields: dict) -> str:
    """docs/checking.md "Value digests": 16 hex digits of the SHA-256 of the
    fields' JSON (sorted keys, ``(",", ":")``, UTF-8 as is)."""
    blob = _DIGEST_JSON(fields)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@register
class Converge(Rule):
    id = "core.converge"
    needs_server_trace = False
    why_na = ("needs, after a settle window, a device `snapshot` and a `srv_snapshot` of the "
              "same device")
    title = "Device and server agree after settling"
    statement = (
        "When settled: the device's last `snapshot` equals the server's last `srv_snapshot` "
        "for it. Without both: n/a. Where the snapshot carries `digests` and the trace has the "
        "bench's `srv_record` of a record at the same version, their field values agree too."
    )

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._dev: dict[str, tuple[float, dict, dict | None]] = {}
        self._srv: dict[str, tuple[float, dict]] = {}
        self._rec: dict[str, dict] = {}  # last srv_record per record
        self._changed: dict[str, float] = {}  # record -> t of its last known change
        self._k = ctx.own_slot()  # per device: start of its last successful sync

    def on_snapshot(self, ev, ds) -> None:
        self._dev[ds.dev] = (ev["t"], ev["records"], ev.get("digests"))

    def on_srv_snapshot(self, ev, ds) -> None:
        self._srv[ds.dev] = (ev["t"], ev["records"])

    def on_srv_record(self, ev, ds) -> None:
        self._rec[ev["record"]] = ev

    def on_dispatch(self, ev, ds) -> None:
        self._changed[ev["record"]] = ev["t"]

    def on_srv_apply(self, ev, ds) -> None:
        self._changed[ev["record"]] = ev["t"]

    def on_sync_end(self, ev, ds) -> None:
        if ev["ok"] and ds.ended is not None:
            ds.own[self._k] = ds.ended[0]

    def _why(self, dev: str, rec: str) -> str:
        ds = self.ctx.devices.get(dev)
        changed, synced = self._changed.get(rec), ds.own[self._k] if ds is not None else None
        if changed is not None and synced is not None and synced > changed:
            return (f" -- server fault: its last change at {fmt_t(changed)} came before the "
                    f"device's successful sync at {fmt_t(synced)}, which did not bring it")
        return ""

    def _diff(self, dev: str, a: dict, b: dict, digests: dict | None) -> list[str]:
        parts = []
        for rec in sorted(set(a) | set(b)):
            va, vb = a.get(rec), b.get(rec)
            if va != vb:
                if va is None:
                    what = f"{rec}: the device lacks v{vb:g}"
                elif vb is None:
                    what = f"{rec}: the device still holds v{va:g}, outside its scope on the server"
                else:
                    what = f"{rec}: device v{va:g} vs server v{vb:g}"
                parts.append(what + self._why(dev, rec))
            elif digests is not None and rec in digests and rec in self._rec:
                srv = self._rec[rec]
                if srv["version"] == vb and srv.get("fields") is not None \
                        and fields_digest(srv["fields"]) != digests[rec]:
                    parts.append(f"{rec}: at v{vb:g} the device's field values differ from the "
                                 f"server's (digest {digests[rec]} vs {fields_digest(srv['fields'])})")
        return parts

    def finish(self, end_t) -> None:
        if not self.ctx.settled:
            return
        for dev in sorted(set(self._dev) & set(self._srv)):
            (t1, a, digests), (t2, b) = self._dev[dev], self._srv[dev]
            parts = self._diff(dev, a, b, digests)
            if not parts:
                self.passed()
                continue
            shown = "; ".join(parts[:5]) + (f"; and {len(parts) - 5} more" if len(parts) > 5 else "")
            self.fail(max(t1, t2), dev, f"snapshot at {fmt_t(t1)} differs from srv_snapshot at "
                                        f"{fmt_t(t2)}: {shown}")
