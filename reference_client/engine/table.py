"""The engine's state machine, as tables.

Theory of operation
===================

The device is in one cell of three independent dimensions, each derived from
inputs exactly as spec/trace.md derives it from the trace:

    link:  offline | slow | fast          (LinkChanged)
    app:   closed | foreground | background (AppChanged)
    sync:  IDLE | SYNCING | SYNCING+PENDING (the engine's own)

A *reaction* (REACTIONS below) turns an input into a wish to sync: a trigger
name for the trace, and the policy knob that gives its mode (None: the policy
does not sync on it). A wish is granted only when the device is online and
running; otherwise the later reconnect or open reaction covers it. The sync
dimension then decides (SYNC_TABLE):

    IDLE --wish--------------------------------------> SYNCING (start now)
    SYNCING --wish, strict or not covered------------> SYNCING+PENDING
    SYNCING --wish, non-strict and covered-----------> SYNCING (nothing)
    SYNCING(+PENDING) --response / failure / abort---> IDLE, then start PENDING

"Strict" follows rules.md respond(E, X, strict): for a strict reaction a sync
already in progress does not count, so a follow-up must start right after it
ends ("a push or status edit during a sync must lead to a new sync_start
within respond_s after that sync ends"). A non-strict wish is covered by the
sync in progress when that sync's mode already does what the wish asks
(MODE_COVERS). Two pending wishes merge into the stronger mode, keeping the
trigger of the stronger one: a PlayMaker manual pull (full) absorbs a pending
save (upload), and stays a ``manual`` sync as playmaker.no_auto_download
requires.

Timers are not a dimension: the engine keeps deadlines (next automatic sync,
next file retry, a delayed save) and reports their minimum as
``next_deadline``; ``Tick`` fires those due.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference_client.engine.vocab import DOWNLOAD_ONLY, FULL, UPLOAD_ONLY

IDLE, SYNCING, PENDING = "IDLE", "SYNCING", "SYNCING+PENDING"


@dataclass(frozen=True, slots=True)
class Reaction:
    knob: str  # Policy attribute naming the mode, None = no sync
    trigger: str  # trace.md sync_start trigger
    strict: bool  # rules.md respond(E, X, strict)


REACTIONS: dict[str, Reaction] = {
    # planado.sync_on_open: respond(E, respond_s, not strict)
    "open": Reaction("on_open", "open", strict=False),
    # planado.sync_on_status: respond(E, respond_s, strict)
    "status": Reaction("on_status", "status", strict=True),
    # playmaker.upload_on_save: respond(E, save_sync_s, strict)
    "save": Reaction("on_save", "save", strict=True),
    # planado.push_sync: respond(E, respond_s, strict)
    "push": Reaction("on_push", "push", strict=True),
    # core.manual_sync: respond(E, manual_s, not strict)
    "manual": Reaction("on_manual", "manual", strict=False),
    # A reconnect during a sync means the link flapped under it: go again.
    "reconnect": Reaction("on_reconnect", "link", strict=True),
    # The app started straight into the background (closed -> minimized): the
    # device is online and running again, as after a reconnect.
    "wake": Reaction("on_reconnect", "wake", strict=True),
    # The photo change was not in the sync in progress: it needs its own.
    "file": Reaction("on_file_done", "file", strict=True),
}

# (phase, strict-or-uncovered) -> next phase, for a granted wish.
SYNC_TABLE: dict[tuple[str, bool], str] = {
    (IDLE, True): SYNCING,
    (IDLE, False): SYNCING,
    (SYNCING, True): PENDING,
    (SYNCING, False): SYNCING,
    (PENDING, True): PENDING,
    (PENDING, False): PENDING,
}

# What a sync in each mode does, for "covered" and for merging pending wishes.
MODE_COVERS: dict[str, frozenset[str]] = {
    FULL: frozenset({FULL, UPLOAD_ONLY, DOWNLOAD_ONLY}),
    UPLOAD_ONLY: frozenset({UPLOAD_ONLY}),
    DOWNLOAD_ONLY: frozenset({DOWNLOAD_ONLY}),
}


def merge(pending: tuple[str, str] | None, wish: tuple[str, str]) -> tuple[str, str]:
    """Merge a (trigger, mode) wish into the pending one: the stronger mode wins
    with its own trigger; equal modes keep the earlier trigger; upload plus
    download make a full sync."""
    if pending is None:
        return wish
    (p_trig, p_mode), (_, w_mode) = pending, wish
    if w_mode in MODE_COVERS[p_mode]:
        return pending
    if p_mode in MODE_COVERS[w_mode]:
        return wish
    return (p_trig, FULL)
