"""Does the traffic tell what the device's own trace tells? Verdicts compared per device.

Theory of operation
-------------------
A real run with ``capture=True`` has two records of the same devices: the
devices' own traces (merged with the bench's server record) and the capture
of their traffic. From the capture :func:`tier_traces` builds one trace per
tier of :data:`bench.rules.observable.OBSERVABLE`:

- ``traffic``: traffic events + the link classes the bench imposed;
- ``app_log``: + an app log written from the devices' app-only events (the
  lines a team's app would log, read back through :mod:`bench.capture.applog`);
- ``server``: + the bench's server record (``dispatch``, ``srv_*``).

:func:`compare` checks each device's slice of both traces (its events and
the events of no device) and, for every rule the table places in a tier
(or below), compares the verdicts; any difference is listed with both sides'
first violation. "The traffic-derived verdict equals the verdict on the
client's own trace" is exactly ``compare(...) == []``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.capture.applog import app_log_lines, read_app_log
from bench.capture.har import Exchange
from bench.capture.mapping import Mapping, load_mapping
from bench.capture.translate import build_trace
from bench.rules.observable import OBSERVABLE, TIERS

_APP_KINDS = ("app", "edit", "manual", "unsent", "last_sync", "snapshot")
_SERVER_KINDS = ("dispatch", "srv_record", "srv_apply", "srv_push", "srv_snapshot")


def tier_traces(own: list[dict[str, Any]], xs: Iterable[Exchange], *, policy: str, epoch: float,
                k: float, listeners: dict[int, str] | None = None,
                mapping: Mapping | None = None, settled: bool = False
                ) -> dict[str, list[dict[str, Any]]]:
    """One traffic-derived trace per tier (see the module docs); ``own`` without its meta."""
    mapping = mapping or load_mapping(None)
    xs = list(xs)
    links: dict[str | None, list[tuple[float, str]]] = {}
    for e in own:
        if e["ev"] == "link":
            links.setdefault(e["dev"], []).append((e["t"], e["class"]))
    with tempfile.TemporaryDirectory(prefix="syncbench-applog-") as tmp:
        log = Path(tmp) / "app.jsonl"
        log.write_text("\n".join(app_log_lines([e for e in own if e["ev"] in _APP_KINDS],
                                               epoch=epoch, k=k)) + "\n")
        app_log = read_app_log(log, epoch=epoch, k=k)
    server = [e for e in own if e["ev"] in _SERVER_KINDS]
    kw = dict(policy=policy, epoch=epoch, k=k, listeners=listeners, links=links, settled=settled)
    return {"traffic": build_trace(xs, mapping, **kw),
            "app_log": build_trace(xs, mapping, app_log=app_log, **kw),
            "server": build_trace(xs, mapping, app_log=app_log, others=server, **kw)}


def _check(events: list[dict[str, Any]], policy: str) -> dict[str, Any]:
    from bench.rules.checker import check_events
    from bench.rules.policies import get_policy

    meta = events[0] if events and events[0]["ev"] == "meta" else {}
    body = [e for e in events if e["ev"] != "meta"]
    return {r.id: r for r in check_events(body, get_policy(policy), meta=meta)}


def compare(own: list[dict[str, Any]], tiers: dict[str, list[dict[str, Any]]],
            policy: str) -> list[dict[str, Any]]:
    """Every (tier, rule) where the traffic's verdict, or the devices it fails, differ from
    the own trace's with the same sources besides ([] when the traffic agrees).

    Below the server tier the own trace is taken without the bench's server
    record too, so both sides know the same things but for the traffic itself."""
    from bench.rules.policies import get_policy

    rules = set(get_policy(policy).rules)
    without_server = [e for e in own if e["ev"] not in _SERVER_KINDS]
    out = []
    for tier in TIERS:
        mine = _check(own if tier == "server" else without_server, policy)
        theirs = _check(tiers[tier], policy)
        upto = TIERS[: TIERS.index(tier) + 1]
        for rid in sorted(rules):
            if OBSERVABLE.get(rid, ("server",))[0] not in upto:
                continue
            a, b = mine[rid], theirs[rid]
            fa = sorted({v.dev or "" for v in a.violations})
            fb = sorted({v.dev or "" for v in b.violations})
            if a.verdict != b.verdict or fa != fb:
                first_a = {v.dev or "": v.message for v in reversed(a.violations)}
                first_b = {v.dev or "": v.message for v in reversed(b.violations)}
                for dev in sorted(set(fa) ^ set(fb)) or [""]:
                    out.append({"tier": tier, "rule": rid, "dev": dev, "own": a.verdict,
                                "traffic": b.verdict,
                                "own_says": first_a.get(dev) or a.why,
                                "traffic_says": first_b.get(dev) or b.why})
    return out


def same_verdicts(a: dict[str, list[dict[str, Any]]], b: dict[str, list[dict[str, Any]]],
                  policy: str) -> list[dict[str, Any]]:
    """Tier by tier, every rule whose verdict or failing devices differ between two
    traffic-derived traces of one run (a live capture and its HAR export)."""
    out = []
    for tier in TIERS:
        ra, rb = _check(a[tier], policy), _check(b[tier], policy)
        for rid, x in ra.items():
            y = rb[rid]
            fx = sorted({v.dev or "" for v in x.violations})
            fy = sorted({v.dev or "" for v in y.violations})
            if x.verdict != y.verdict or fx != fy:
                out.append({"tier": tier, "rule": rid, "a": x.verdict, "b": y.verdict,
                            "a_fails": fx, "b_fails": fy})
    return out
