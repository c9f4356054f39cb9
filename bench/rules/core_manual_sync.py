"""core.manual_sync: a manual request gets a sync."""

from __future__ import annotations

from bench.rules.base import register
from bench.rules.respond import RespondRule


@register
class ManualSync(RespondRule):
    id = "core.manual_sync"
    needs_server_trace = None
    why_na = 'no `manual` sync request while online and running'
    title = "A manual sync request starts a sync"
    source = (
        "Planado: \"Synchronization can be done manually\"; PlayMaker: \"a manual sync must be "
        "performed... tapping on the sync icon\""
    )
    statement = "Every `manual` event while online and running: respond(E, manual_s, not strict)."
    params = ("manual_s",)
    respond_param = "manual_s"
    strict = False

    def on_manual(self, ev, ds) -> None:
        self.respond.open(ev["t"], ds, "manual request")
