"""core.converge: after the settle window the device and the server agree."""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register


def _diff(dev_view: dict, srv_view: dict) -> str:
    parts = []
    for rec in sorted(set(dev_view) | set(srv_view)):
        a, b = dev_view.get(rec), srv_view.get(rec)
        if a != b:
            parts.append(f"{rec}: device {a if a is not None else '-'} vs server {b if b is not None else '-'}")
    shown = "; ".join(parts[:5])
    return shown + (f"; and {len(parts) - 5} more" if len(parts) > 5 else "")


@register
class Converge(Rule):
    id = "core.converge"
    needs_server_trace = False
    why_na = 'needs, after a settle window, a device `snapshot` and a `srv_snapshot` of the same device'
    title = "Device and server agree after settling"
    statement = (
        "When settled: the device's last `snapshot` equals the server's last `srv_snapshot` "
        "for it. Without both: n/a."
    )

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._dev: dict[str, tuple[float, dict]] = {}
        self._srv: dict[str, tuple[float, dict]] = {}

    def on_snapshot(self, ev, ds) -> None:
        self._dev[ds.dev] = (ev["t"], ev["records"])

    def on_srv_snapshot(self, ev, ds) -> None:
        self._srv[ds.dev] = (ev["t"], ev["records"])

    def finish(self, end_t) -> None:
        if not self.ctx.settled:
            return
        for dev in sorted(set(self._dev) & set(self._srv)):
            (t1, a), (t2, b) = self._dev[dev], self._srv[dev]
            if a == b:
                self.passed()
            else:
                self.fail(max(t1, t2), dev, f"snapshot at {fmt_t(t1)} differs from srv_snapshot at {fmt_t(t2)}: {_diff(a, b)}")
