"""planado.unsent_count: the Unsent counter tells the truth."""

from __future__ import annotations

from bench.rules.base import register
from bench.rules.display import DisplayRule


@register
class UnsentCount(DisplayRule):
    id = "planado.unsent_count"
    title = "The Unsent counter is right"
    source = (
        "You can see how many changes were made... and not uploaded to server in the Unsent"
    )
    statement = (
        "While running, the displayed `unsent` `n` (0 before any) equals the number of unsent "
        "changes — photos included — except within `display_lag_s` after the true number "
        "changes or the app starts running."
    )
    initial = 0

    def truth(self, ds) -> int:
        return len(ds.unsent)

    def matches(self, shown, truth) -> bool:
        return shown == truth

    def describe(self, shown, truth) -> str:
        return f"shows unsent {shown} but {truth} changes are unsent"

    def on_unsent(self, ev, ds) -> None:
        self.show(ds, ev["n"], ev["t"])

    def on_edit(self, ev, ds) -> None:
        self.truth_changed(ds, ev["t"])

    def on_ack(self, ev, ds) -> None:
        self.truth_changed(ds, ev["t"])
