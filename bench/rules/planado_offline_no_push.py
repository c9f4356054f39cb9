"""planado.offline_no_push: no push reaches an offline device.

Theory: every ``push`` is an instance, judged at once on the device's link
class at that event (trace.md: "offline before any" link event). The app state
does not matter: the rule is about the network, not the app.
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register


@register
class OfflineNoPush(Rule):
    id = "planado.offline_no_push"
    title = "No pushes in offline mode"
    source = "In the offline mode... you also won't receive push-notifications"
    statement = "No `push` while the device is offline."

    def on_push(self, ev, ds) -> None:
        if ds.online:
            self.passed()
        else:
            self.fail(ev["t"], ds.dev, f"push of {ev['record']} at {fmt_t(ev['t'])} while offline")
