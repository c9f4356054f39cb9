"""Which rules a traffic trace can judge, and what the others need.

A trace built from an app's traffic (``meta.source: "traffic"``,
``syncbench capture`` / ``import har``) holds what crossed the wire: syncs,
acks, received records, file transfers, push frames, plus the link class the
bench imposed and the save time a change carries (``saved_at``). Each rule
is in one tier:

- ``traffic``: judged from traffic alone;
- ``app_log``: needs the app's event log too (what only the app knows);
- ``server``: needs the server's side: the bench's own record of a run
  (``dispatch``, ``srv_record``) or a server trace merged in;
- ``device``: needs the device's own trace: the rule reads what the device
  *stored*, and the wire shows only what was sent to it. On a traffic trace
  such a rule is n/a with that reason, never a pass.

A rule of a higher tier left ``n/a`` on a traffic trace that lacks what it
needs says so (:func:`traffic_why`) instead of the generic reason; docs/checking.md
prints this table (``python -m bench.rules.docs``).
"""

from __future__ import annotations

from typing import Any

# The tiers a traffic trace can reach, in order; "device" is beyond them.
TIERS = ("traffic", "app_log", "server")
TIER_TITLES = {"traffic": "traffic alone", "app_log": "needs the app log",
               "server": "needs the server", "device": "needs the device's own trace"}

# rule id -> (tier, what it needs that the wire does not show / how traffic judges it)
OBSERVABLE: dict[str, tuple[str, str]] = {
    "planado.cadence": ("traffic", "sync requests and the link the bench imposed; the app is taken "
                        "to run from its first request (an app log says when it was closed)"),
    "planado.slow_no_files": ("traffic", "file requests against the link class the bench imposed"),
    "planado.push_sync": ("traffic", "push frames on the push channel, then the next sync request"),
    "planado.offline_no_push": ("traffic", "push frames while the bench held the link offline"),
    "planado.text_flows": ("traffic", "a change's saved_at and its ack; a change never sent at all "
                           "shows only in the app log"),
    "planado.sync_on_status": ("traffic", "a status change's saved_at and the sync that follows"),
    "playmaker.upload_on_save": ("traffic", "a change's saved_at and the sync that carries it"),
    "playmaker.upload_on_reconnect": ("traffic", "a change's saved_at, the link coming back and "
                                      "the ack"),
    "planado.no_overpoll": ("app_log", "which syncs the user asked for; judged on traffic alone "
                            "too, where a sync nothing visible explains counts as a timer one (a "
                            "10 s poller shows, and so may a tap on sync)"),
    "planado.sync_on_open": ("app_log", "when the app was opened or restored"),
    "core.manual_sync": ("app_log", "when the user asked for a sync"),
    "planado.unsent_count": ("app_log", "the Unsent count on screen"),
    "planado.last_sync_time": ("app_log", "the last-sync time on screen"),
    "planado.sync_uploads_all": ("app_log", "every edit saved, including those never sent"),
    "planado.fast_files": ("app_log", "photos taken, including those never sent (and attachments: "
                           "the dispatcher's record)"),
    "core.no_loss": ("app_log", "every edit saved, including those never sent"),
    "playmaker.no_auto_download": ("app_log", "which syncs the user asked for"),
    "core.converge": ("server", "the device's own view (app log snapshot) and the server's"),
    "core.exactly_once": ("server", "the server's records (the bench's read-back or server trace)"),
    "core.scope": ("server", "who each record was assigned to (the dispatcher's record)"),
    "planado.push_sent": ("server", "the dispatcher's operations"),
    "planado.push_delivered": ("server", "the dispatcher's operations or the server's pushes"),
    "planado.push_scope": ("server", "who each record was assigned to (the dispatcher's record)"),
    "playmaker.manual_pulls_all": ("device", "what the device kept of a pull: the wire shows "
                                   "what was sent (core.converge judges what was kept, from the "
                                   "app log's snapshot)"),
}

# Rules of the app_log tier judged on traffic alone all the same, by inference
# (a sync nothing visible explains is a timer sync): a 10 s poller shows on any
# wire. The others are n/a without the app log: an assumed "opened" would make
# their passes empty.
INFERRED_ALONE = frozenset({"planado.no_overpoll"})

# Server-tier rules that read the app log too (the device's own view: its snapshot).
SERVER_AND_APP_LOG = frozenset({"core.converge"})

# Where docs/checking.md holds the table (python -m bench.rules.observable rewrites it).
BEGIN, END = "<!-- traffic-table -->", "<!-- /traffic-table -->"
_SERVER_KINDS = ("dispatch", "srv_record", "srv_apply", "srv_push", "srv_snapshot")


def _on_traffic(rule_id: str, meta: dict[str, Any] | None) -> tuple[str, str, bool] | None:
    """(tier, need, the trace has an app log) for a rule of a traffic trace, else None."""
    if not meta or meta.get("source") != "traffic" or rule_id not in OBSERVABLE:
        return None
    tier, need = OBSERVABLE[rule_id]
    return tier, need, bool((meta.get("capture") or {}).get("app_log"))


def forced_na(rule_id: str, meta: dict[str, Any] | None) -> bool:
    """Whether a traffic trace cannot judge ``rule_id`` at all (its verdict would be a guess)."""
    found = _on_traffic(rule_id, meta)
    if found is None:
        return False
    tier, _, has_log = found
    return tier == "device" or (tier == "app_log" and not has_log
                                and rule_id not in INFERRED_ALONE)


def traffic_why(rule_id: str, meta: dict[str, Any] | None, kinds: set[str]) -> str | None:
    """Why ``rule_id`` judged nothing on a traffic trace, when it is for lack of a source."""
    found = _on_traffic(rule_id, meta)
    if found is None:
        return None
    tier, need, has_log = found
    if tier == "device":
        return f"not judged on a traffic trace: needs {need}"
    if tier == "server" and not any(k in kinds for k in _SERVER_KINDS):
        return f"traffic trace without the server's side: needs {need}"
    if not has_log and (tier == "app_log" or rule_id in SERVER_AND_APP_LOG):
        return f"traffic trace without an app log: needs {need}"
    return None


def traffic_table() -> str:
    """The Markdown table of docs/checking.md: every rule, the tier it needs, how."""
    from bench.rules.base import REGISTRY

    rows = ["| rule | judged from | what it reads on the wire, or what it needs |",
            "|---|---|---|"]
    order = {t: i for i, t in enumerate((*TIERS, "device"))}
    for rid in sorted(REGISTRY, key=lambda r: (order[OBSERVABLE[r][0]], r)):
        tier, need = OBSERVABLE[rid]
        rows.append(f"| `{rid}` | {TIER_TITLES[tier]} | {need} |")
    return "\n".join(rows)


def main() -> None:
    """``python -m bench.rules.observable``: rewrite the table in docs/checking.md."""
    import sys
    from pathlib import Path

    path = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/checking.md")
    text = path.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    path.write_text(text[:start] + "\n" + traffic_table() + "\n" + text[end:])

if __name__ == "__main__":
    main()
