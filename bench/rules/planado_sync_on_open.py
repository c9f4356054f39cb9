"""planado.sync_on_open: opening or restoring the app starts a sync.

Theory: every ``app`` ``opened`` or ``restored`` while online is a non-strict
respond() instance (bench.rules.respond): a sync already in progress answers
it. ``minimized`` and ``closed`` are not openings.
"""

from __future__ import annotations

from bench.rules.base import register
from bench.rules.respond import RespondRule


@register
class SyncOnOpen(RespondRule):
    id = "planado.sync_on_open"
    title = "Sync when the app is opened"
    source = "Synchronization also happens when you open application"
    statement = "Every `app` `opened` or `restored` while online: respond(E, respond_s, not strict)."
    params = ("respond_s",)
    respond_param = "respond_s"
    strict = False

    def on_app(self, ev, ds) -> None:
        if ev["state"] in ("opened", "restored"):
            self.respond.open(ev["t"], ds, f"app {ev['state']}")
