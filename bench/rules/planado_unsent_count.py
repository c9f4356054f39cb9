"""planado.unsent_count: the Unsent counter tells the truth.

Theory: the truth is the number of the device's edits not yet acked
(trace.md, "Unsent changes"), photos included; the shown value is the latest
``unsent`` ``n`` (0 before any). The grace period restarts only when that
number really changes: an ``ack`` of a change that was not unsent changes
nothing the user could have been told about. The judgement itself lives in
:mod:`bench.rules.display`.
"""

from __future__ import annotations

from itertools import islice

from bench.rules.base import register
from bench.rules.display import DisplayRule

# How many unsent change ids a violation message lists.
MESSAGE_IDS = 3


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
    initial = 0  # "(0 before any)"

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._count: dict[str, int] = {}
        self._ids: dict[str, list[str]] = {}  # unsent change ids at the last evaluation

    def truth(self, ds) -> int:
        # "the number of unsent changes — photos included": every edit counts.
        self._ids[ds.dev] = list(islice(ds.unsent, MESSAGE_IDS))  # O(1): never copy the whole set
        return len(ds.unsent)

    def matches(self, shown, truth) -> bool:
        return shown == truth

    def describe(self, dev, shown, truth) -> str:
        ids = self._ids.get(dev, [])
        more = ", ..." if truth > len(ids) else ""
        which = f" ({', '.join(ids)}{more})" if ids else ""
        return f"unsent shows {shown} but {truth} changes are unsent{which}"

    def _changed(self, ev, ds) -> None:
        n = len(ds.unsent)
        if self._count.get(ds.dev, 0) != n:
            self._count[ds.dev] = n
            self.truth_changed(ds, ev["t"])

    def on_unsent(self, ev, ds) -> None:
        self.show(ds, ev["n"], ev["t"])

    def on_edit(self, ev, ds) -> None:
        self._changed(ev, ds)

    def on_ack(self, ev, ds) -> None:
        self._changed(ev, ds)
