"""Sync policies: what makes the engine start a sync, and what it may move when.

Theory of operation: a :class:`Policy` is a frozen bag of knobs the engine
reads; it holds no code. The two reference policies are instances of it:

- :data:`PLANADO` — "App tries to synchronize automatically every 2 minutes,
  even if app is minimized"; sync on open/restore, status change, push, manual
  request and reconnect; every sync is ``full``; files move only on fast links.
- :data:`PLAYMAKER` — "When a new record is created on a mobile device and
  saved, it is pushed to the web"; saves and reconnects start ``upload``
  syncs; only a manual sync pulls (``full``); no timer, pushes ignored.

Each ``on_*`` knob names the sync ``mode`` that event starts, or ``None`` for
"this event starts no sync" (the reaction table is in ``engine/table.py``).
The mutants (``reference_client.policies.mutants``) are the same class with one or two
knobs turned; ``base`` names the rule policy (spec/rules.md) a trace of any of
them is checked against.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from reference_client.engine.vocab import FULL, SYNC_MODES, UPLOAD_ONLY

# rules.md default `interval_s`: "App tries to synchronize automatically every 2 minutes".
PLANADO_INTERVAL_S = 120.0
# A few seconds either way so a fleet does not sync in lockstep, well inside
# rules.md `cadence_tol_s` (10): every timer sync then lands in
# [interval - 3, interval + 3] after the previous sync_end, which keeps both
# planado.cadence (idle <= 130 s) and planado.no_overpoll (>= 110 s apart).
TIMER_JITTER_S = 3.0
# Failed syncs retry after 5, 10, 20, 40, 60, 60... s: the first retry comes
# soon (rules.md `save_ack_s` = 30 s for PlayMaker saves), the cap stays well
# below the Planado interval so retries never stretch an idle gap past
# interval + tolerance.
RETRY_BASE_S = 5.0
RETRY_MAX_S = 60.0
# A failed file transfer is retried after this pause (not a rule parameter:
# short against rules.md `files_s` = 160 s).
FILE_RETRY_S = 10.0
# Transfers in flight at once: no cap. rules.md planado.fast_files wants every
# file *started* within files_s (160 s) of the link turning fast, which a queue
# behind a few large photos on 3G cannot promise (five 3 MB uploads hold 330
# kbps for over six minutes); transfers share the link's bandwidth anyway, so a
# cap would only reorder them, not finish them sooner.
MAX_TRANSFERS: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """The knobs of a sync policy. See the module docstring."""

    name: str
    base: str
    # -- what starts a sync: the mode it runs in, or None for "no sync" --
    timer_s: float | None = None
    timer_jitter_s: float = TIMER_JITTER_S
    timer_in_background: bool = True
    timer_mode: str = FULL
    on_open: str | None = None
    on_status: str | None = None
    on_save: str | None = None
    on_push: str | None = None
    on_manual: str | None = FULL
    on_reconnect: str | None = None
    on_file_done: str | None = None
    retry_mode: str = FULL
    retry_base_s: float = RETRY_BASE_S
    retry_max_s: float = RETRY_MAX_S
    file_retry_s: float = FILE_RETRY_S
    max_transfers: int | None = MAX_TRANSFERS
    # -- what may move when --
    files_on_slow: bool = False
    # -- deliberate faults (reference_client.mutants); defaults are correct --
    save_delay_s: float = 0.0  # a save waits this long before its sync
    files_wifi_only: bool = False  # transfers only on wifi, not on 3g/lte
    resume_downloads: bool = True  # False: after a cut download, downloads stall
    sync_on_slow: bool = True  # False: syncs on slow links fail at once
    hold_young_s: float = 0.0  # changes younger than this stay out of a sync
    unsent_counts_photos: bool = True
    last_sync_on_failure: bool = False
    keep_offline_edits: bool = True
    retry_same_ids: bool = True
    store_records: bool = True
    pull_limit: int | None = None  # keep at most this many records per response

    def __post_init__(self) -> None:
        for knob in ("timer_mode", "on_open", "on_status", "on_save", "on_push", "on_manual",
                     "on_reconnect", "on_file_done", "retry_mode"):
            mode = getattr(self, knob)
            if mode is not None and mode not in SYNC_MODES:
                raise ValueError(f"Policy.{knob}: must be one of {sorted(SYNC_MODES)} or None, "
                                 f"got {mode!r}")
        if self.timer_s is not None and self.timer_s <= 0:
            raise ValueError(f"Policy.timer_s: must be positive or None, got {self.timer_s!r}")

    def but(self, **changes: object) -> Policy:
        """A copy with some knobs changed (how mutants are made)."""
        return replace(self, **changes)  # type: ignore[arg-type]


PLANADO = Policy(
    name="planado",
    base="planado",
    timer_s=PLANADO_INTERVAL_S,
    on_open=FULL,  # "Synchronization also happens when you open application"
    on_status=FULL,  # "...or change status of any job"
    on_push=FULL,  # "After receiving push-notification Planado synchronizes with server"
    on_manual=FULL,  # "Synchronization can be done manually"
    on_reconnect=FULL,  # offline mode ends: the Unsent changes go up at once
    on_file_done=FULL,  # a photo change is sent right after its upload completes
    retry_mode=FULL,
    files_on_slow=False,  # "on slow internet connection ... won't upload photos"
)

PLAYMAKER = Policy(
    name="playmaker",
    base="playmaker",
    timer_s=None,  # "does not update automatically"
    on_open=UPLOAD_ONLY,  # stored saves go up when the app runs again
    on_save=UPLOAD_ONLY,  # "saved, it is pushed to the web"
    on_manual=FULL,  # "a manual sync must be performed ... pull all updated records"
    on_reconnect=UPLOAD_ONLY,  # "stored on the mobile device until ... strong enough to upload"
    on_file_done=UPLOAD_ONLY,
    retry_mode=UPLOAD_ONLY,
    files_on_slow=True,  # PlayMaker names no slow-link file rule
)
