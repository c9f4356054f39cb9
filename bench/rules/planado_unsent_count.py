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

    def truth(self, ds, sc) -> int:
        # "the number of unsent changes — photos included": every edit counts.
        return len(ds.unsent)

    def agrees(self, ds, sc) -> bool:
        return sc.shown == len(ds.unsent)

    def describe(self, dev, shown, truth) -> str:
        # The ids are read when the mismatch fails, not when it starts (iterating
        # a dict that keeps losing its oldest keys is not O(1)): the same ids,
        # since every change to the unsent set changes the count and so
        # re-evaluates the display, which would have ended this mismatch.
        ids = list(islice(self.ctx.devices[dev].unsent, MESSAGE_IDS))
        more = ", ..." if truth > len(ids) else ""
        which = f" ({', '.join(ids)}{more})" if ids else ""
        return f"unsent shows {shown} but {truth} changes are unsent{which}"

    def _changed(self, ev, ds) -> None:
        n = len(ds.unsent)
        sc = ds.own[self._k] or self.screen(ds)
        if (sc.truth or 0) != n:  # the count at the last change: 0 before any
            sc.truth = n
            self.truth_changed(ds, ev["t"], sc)

    def on_unsent(self, ev, ds) -> None:
        self.show(ds, ev["n"], ev["t"])

    def on_edit(self, ev, ds) -> None:
        self._changed(ev, ds)

    def on_ack(self, ev, ds) -> None:
        self._changed(ev, ds)
