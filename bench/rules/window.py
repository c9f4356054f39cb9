"""Windows: rule instances waiting for something until a deadline.

Theory of operation: a rule that waits ("within X s") opens a :class:`Window`
and hands it to the context's clock (:meth:`bench.rules.state.Context.schedule`),
which fires ``on_expire`` once an event strictly later than the deadline
arrives (a window closed within the instant that opened it never reaches
the clock's heap); :func:`expire_due` settles the ones a rule holds at the end. A module
of its own so that the rule base and the derived state both use it without
importing each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class Window:
    """An instance waiting for something until ``deadline``.

    ``on_expire(window)`` runs when the deadline passes with the window still
    open; ``close()`` ends it early (satisfied or cut).
    """

    __slots__ = ("dev", "deadline", "data", "open", "on_expire", "seq")

    def __init__(self, dev: str | None, deadline: float, on_expire: Callable[[Window], None], data: Any = None):
        self.dev = dev
        self.deadline = deadline
        self.data = data
        self.open = True
        self.on_expire = on_expire
        self.seq = 0  # set by Context.schedule

    def close(self) -> None:
        self.open = False


def expire_due(windows: Iterable[Window], end_t: float | None) -> None:
    """Expire every open window among ``windows`` whose deadline is at or before ``end_t``.

    For "within X s" windows, called from a rule's ``finish``: "within X s after
    event E" means "t <= t_E + X", so once the trace has reached ``t_E + X`` the
    window has been seen whole. It is not "cut short ... by the end of the trace"
    (the checker's clock only fires deadlines strictly before an event, because
    a later event at the deadline could still satisfy it). Rules whose windows
    mean "more than X" (an idle stretch) must not call this.
    """
    if end_t is None:
        return
    for w in list(windows):
        if w.open and w.deadline <= end_t:
            w.open = False
            w.on_expire(w)
