"""Deliberately broken devices, one per client-side rule, registered by name.

Theory of operation: a mutant is the Planado or PlayMaker policy with one or
two knobs turned (``Policy.but``), so it runs the very same engine and differs
in exactly the behaviour its rule is about. ``MUTANTS`` maps each name to a
:class:`Mutant`: the rule id it targets (spec/rules.md), the policy, a one-line
description, and ``also`` — rules that may fail with it because the rules
overlap (losing a text edit, for instance, cannot help breaking both
core.no_loss and planado.sync_uploads_all). A checker run on a trace of a
mutant, checked against ``mutant.base``'s rules, must fail ``mutant.rule``.

    m = MUTANTS["ignores_push"]
    engine = Engine(device="w1", policy=m.policy, rng=random.Random(7))

The registry is policy data, below the engine: it imports no engine, so the
engine can resolve a mutant's name on restore (``get_policy``) with no import
running back up.

Server-side rules (push_sent, push_delivered, push_scope, core.scope,
offline_no_push) are broken by server and push-service mutants, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reference_client.policies.base import PLANADO, PLAYMAKER, Policy

# overpoll_10s: "every 2 minutes, not more often" broken by a 10 s timer.
OVERPOLL_INTERVAL_S = 10.0
# three_minute_timer: 180 s > interval_s + cadence_tol_s (130 s).
SLOW_TIMER_S = 180.0
# partial_upload: changes younger than this stay out of a sync. A status edit
# starts a sync at once, so that sync leaves it unsent (planado.sync_uploads_all);
# 20 + 123 s of timer stays inside text_ack_s (160 s), so text still flows.
PARTIAL_HOLD_S = 20.0
# playmaker_save_waits: a save goes up a minute later (save_sync_s is 2 s).
SAVE_DELAY_S = 60.0
# playmaker_auto_download: a Planado-like 2-minute full sync.
AUTO_DOWNLOAD_S = 120.0
# playmaker_partial_pull: only the first record of each pull is kept.
PARTIAL_PULL_LIMIT = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Mutant:
    name: str
    rule: str
    policy: Policy
    doc: str
    also: tuple[str, ...] = ()

    @property
    def base(self) -> str:
        """The rule policy a trace of this mutant is checked against."""
        return self.policy.base


MUTANTS: dict[str, Mutant] = {}


def _mutant(name: str, rule: str, base: Policy, doc: str, also: tuple[str, ...] = (),
            **knobs: Any) -> None:
    MUTANTS[name] = Mutant(name=name, rule=rule, policy=base.but(name=name, **knobs), doc=doc,
                           also=also)


_mutant("no_background_sync", "planado.cadence", PLANADO,
        "the 2-minute timer sleeps while the app is minimized", timer_in_background=False)
_mutant("overpoll_10s", "planado.no_overpoll", PLANADO,
        "the timer fires every 10 s", timer_s=OVERPOLL_INTERVAL_S)
_mutant("three_minute_timer", "planado.cadence", PLANADO,
        "the timer fires every 3 minutes", also=("planado.text_flows",), timer_s=SLOW_TIMER_S)
_mutant("no_sync_on_open", "planado.sync_on_open", PLANADO,
        "opening or restoring the app starts no sync", on_open=None)
_mutant("no_sync_on_status", "planado.sync_on_status", PLANADO,
        "a status change waits for the timer", on_status=None)
_mutant("ignores_push", "planado.push_sync", PLANADO,
        "a push starts no sync", on_push=None)
_mutant("ignores_manual", "core.manual_sync", PLANADO,
        "the sync button does nothing", on_manual=None)
_mutant("photos_on_edge", "planado.slow_no_files", PLANADO,
        "files move on slow links too", files_on_slow=True)
_mutant("files_never_resume", "planado.fast_files", PLANADO,
        "once a download is cut, no download ever starts again", resume_downloads=False)
_mutant("no_file_on_fast", "planado.fast_files", PLANADO,
        "files move only on Wi-Fi, not on 3G or LTE", files_wifi_only=True)
_mutant("no_text_on_slow", "planado.text_flows", PLANADO,
        "every sync on a slow link gives up at once", sync_on_slow=False)
_mutant("partial_upload", "planado.sync_uploads_all", PLANADO,
        f"changes younger than {PARTIAL_HOLD_S:g} s stay out of a sync",
        hold_young_s=PARTIAL_HOLD_S)
_mutant("unsent_forgets_photos", "planado.unsent_count", PLANADO,
        "the Unsent counter leaves out photos", unsent_counts_photos=False)
_mutant("last_sync_on_failure", "planado.last_sync_time", PLANADO,
        "a failed sync updates the last-sync time", last_sync_on_failure=True)
_mutant("drops_offline_edits", "core.no_loss", PLANADO,
        "an edit made offline is forgotten",
        also=("planado.unsent_count", "planado.sync_uploads_all", "planado.fast_files"),
        keep_offline_edits=False)
_mutant("retry_new_id", "core.no_loss", PLANADO,
        "after a failed sync the changes it carried get new change ids",
        also=("planado.unsent_count", "planado.sync_uploads_all", "planado.text_flows"),
        retry_same_ids=False)
_mutant("ignores_records", "core.converge", PLANADO,
        "server records in a sync answer are not stored", store_records=False)
_mutant("playmaker_auto_download", "playmaker.no_auto_download", PLAYMAKER,
        "a 2-minute timer pulls server changes", timer_s=AUTO_DOWNLOAD_S)
_mutant("playmaker_save_waits", "playmaker.upload_on_save", PLAYMAKER,
        f"a save goes up {SAVE_DELAY_S:g} s later", save_delay_s=SAVE_DELAY_S)
_mutant("playmaker_no_reconnect_upload", "playmaker.upload_on_reconnect", PLAYMAKER,
        "edits saved offline wait for the next save or manual sync", on_reconnect=None)
_mutant("playmaker_partial_pull", "playmaker.manual_pulls_all", PLAYMAKER,
        "a manual sync keeps only the first record of the pull",
        also=("core.converge",), pull_limit=PARTIAL_PULL_LIMIT)


def mutants_table() -> str:
    """The Markdown table of docs/engine.md, generated from the registry."""
    rows = ["| mutant | base | breaks | may also break | what it does |", "|---|---|---|---|---|"]
    for m in MUTANTS.values():
        rows.append(f"| `{m.name}` | {m.base} | {m.rule} | {', '.join(m.also) or '—'} | {m.doc} |")
    return "\n".join(rows) + "\n"


def get_mutant(name: str) -> Mutant:
    try:
        return MUTANTS[name]
    except KeyError:
        raise ValueError(f"unknown mutant {name!r}; known: {', '.join(sorted(MUTANTS))}") from None

