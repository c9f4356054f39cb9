"""planado.push_sync: a push starts a sync."""

from __future__ import annotations

from bench.rules.base import register
from bench.rules.respond import RespondRule


@register
class PushSync(RespondRule):
    id = "planado.push_sync"
    title = "Sync after a push notification"
    source = "After receiving push-notification Planado synchronizes with server"
    statement = "Every `push` while running: respond(E, respond_s, strict)."
    params = ("respond_s",)
    respond_param = "respond_s"
    strict = True

    def on_push(self, ev, ds) -> None:
        self.respond.open(ev["t"], ds, f"push for {ev['record']}")
