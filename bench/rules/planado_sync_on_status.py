"""planado.sync_on_status: a job status change starts a sync.

Theory: every ``edit`` of kind ``status`` while online and running is a
strict respond() instance (bench.rules.respond): the change was made after any
sync in progress had read the local changes, so only a new ``sync_start``
(within ``respond_s`` of that sync's end) carries it.
"""

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
