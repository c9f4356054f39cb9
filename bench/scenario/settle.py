"""The settle window, as one schedule for every driver.

Theory of operation: a run ends with a settle window (spec/rules.md: "every
device online on a fast link, running") so that ``core.no_loss`` and
``core.converge`` can be judged. Its moments are data, computed here from
the scenario and played by the simulator and the real runner alike::

    duration            "fast":     every phone on settle_link; a closed app
                                    opens, a minimized one is restored; no new work
    + PULL_AT x settle  "pull":     a pull to refresh on every phone
    + settle            "snapshot": every phone (and the server) says what it holds

The pull comes halfway, leaving the first half for uploads and the second for
the pull and its downloads.
"""

from __future__ import annotations

from bench.scenario.model import Scenario

PULL_AT = 0.5


def schedule(sc: Scenario) -> tuple[tuple[float, str], ...]:
    """``(spec t, moment)`` of the settle window, in order; nothing when it is empty."""
    if sc.settle_s <= 0:
        return ((sc.duration_s, "fast"), (sc.duration_s, "snapshot"))
    return ((sc.duration_s, "fast"), (sc.duration_s + PULL_AT * sc.settle_s, "pull"),
            (sc.duration_s + sc.settle_s, "snapshot"))


def wake(app_state: str) -> str | None:
    """What the settle window does to an app in ``app_state``: open it, restore it, or nothing."""
    return {"closed": "opened", "background": "restored"}.get(app_state)
