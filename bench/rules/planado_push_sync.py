"""planado.push_sync: a push starts a sync.

Theory: every ``push`` is a strict respond() instance (bench.rules.respond):
a sync in progress at the push does not count, a new ``sync_start`` must come
within ``respond_s`` after that sync ends. A push while offline or with the
app closed is not judged (respond(): "Judged only if the device is online and
running from t_E to s + X").
"""

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
