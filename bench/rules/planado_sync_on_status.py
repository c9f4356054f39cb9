"""planado.sync_on_status: a job status change starts a sync."""

from __future__ import annotations

from bench.rules.base import register
from bench.rules.respond import RespondRule


@register
class SyncOnStatus(RespondRule):
    id = "planado.sync_on_status"
    title = "Sync when a job status changes"
    source = "...or change status of any job"
    statement = "Every `edit` of kind `status` while online and running: respond(E, respond_s, strict)."
    params = ("respond_s",)
    respond_param = "respond_s"
    strict = True

    def on_edit(self, ev, ds) -> None:
        if ev["kind"] == "status":
            self.respond.open(ev["t"], ds, f"status edit {ev['change']}")
