"""Each mutant misbehaves in its own way, and the rule checker catches it."""

from __future__ import annotations

from pathlib import Path

import pytest
from client_scenarios import (
    check,
    harness,
    planado_day,
    playmaker_day,
    random_day,
    starts,
    sync_requests,
)

from reference_client import PLANADO, PLAYMAKER, get_policy
from reference_client.engine import Engine
from reference_client.mutants import MUTANTS, get_mutant, mutants_table

DOCS = Path(__file__).resolve().parents[2] / "docs" / "engine.md"


def test_registry_shape():
    from bench.rules import REGISTRY

    assert len(MUTANTS) >= 20
    for name, m in MUTANTS.items():
        rule = m.rule
        assert rule in REGISTRY, rule
        assert all(r in REGISTRY for r in m.also)
        eng = Engine(device="w1", policy=m.policy)
        assert isinstance(eng, Engine) and eng.policy.name == name
        assert m.base in ("planado", "playmaker")
        assert get_policy(name) is m.policy
    with pytest.raises(ValueError, match="unknown mutant"):
        get_mutant("nope")


def test_docs_table_is_generated_from_the_registry():
    assert mutants_table() in DOCS.read_text()


@pytest.mark.parametrize("name", list(MUTANTS))
def test_checker_catches_each_mutant_and_nothing_unexpected(name):
    m = MUTANTS[name]
    day = planado_day if m.base == "planado" else playmaker_day
    results = check(day(m.policy), m.base)
    fails = {rid for rid, r in results.items() if r.verdict == "fail"}
    assert m.rule in fails
    assert fails <= {m.rule, *m.also}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_breaks_no_other_rule_on_random_days(name):
    m = MUTANTS[name]
    for seed in range(3):
        results = check(random_day(m.policy, seed), m.base)
        fails = {rid for rid, r in results.items() if r.verdict == "fail"}
        assert fails - {"planado.push_sent"} <= {m.rule, *m.also}, seed


# ---- the distinguishing misbehaviour of each, shown directly --------------------


def _policy(name):
    return MUTANTS[name].policy


def test_no_background_sync():
    h = harness(_policy("no_background_sync"))
    h.app(10, "minimized").run(600)
    assert starts(h, "timer") == []
    good = harness(PLANADO)
    good.app(10, "minimized").run(600)
    assert len(starts(good, "timer")) >= 4


@pytest.mark.parametrize("name,lo,hi", [("overpoll_10s", 7, 13), ("three_minute_timer", 177, 183)])
def test_timer_periods(name, lo, hi):
    h = harness(_policy(name))
    h.run(1000)
    t = [e["t"] for e in starts(h, "timer")]
    assert all(lo <= b - a <= hi + 1 for a, b in zip(t, t[1:], strict=False))


@pytest.mark.parametrize("name,script,trigger", [
    ("no_sync_on_open", lambda h: h.app(10, "minimized").app(20, "restored"), "open"),
    ("no_sync_on_status", lambda h: h.edit(10, "j", "status", status="started"), "status"),
    ("ignores_push", lambda h: h.push(10, "j"), "push"),
    ("ignores_manual", lambda h: h.manual(10), "manual"),
])
def test_missing_trigger(name, script, trigger):
    for policy, expected in ((PLANADO, True), (_policy(name), False)):
        h = harness(policy)
        script(h)
        h.run(30)
        assert bool([e for e in starts(h, trigger) if e["t"] > 0]) is expected


def test_photos_on_edge():
    h = harness(_policy("photos_on_edge"), link="edge")
    h.edit(10, "j", "photo", bytes=10_000).run(20)
    assert h.events("file_start")[0]["t"] == 10


def test_files_never_resume():
    h = harness(_policy("files_never_resume"))
    h.dispatch(5, "create", "j", "w1")
    h.dispatch(10, "attach", "j", "w1", file="f1", bytes=30_000_000)  # 20 s on lte
    h.link(15, "edge").link(20, "lte")
    h.dispatch(30, "attach", "j", "w1", file="f2", bytes=1000)
    h.run(300)
    assert [e["file"] for e in h.events("file_start")] == ["f1"]


def test_no_file_on_fast():
    h = harness(_policy("no_file_on_fast"))
    h.edit(10, "j", "photo", bytes=1000).link(50, "wifi").run(100)
    assert [e["t"] for e in h.events("file_start")] == [50]


def test_no_text_on_slow():
    h = harness(_policy("no_text_on_slow"), link="gprs")
    h.edit(10, "j", "text").run(400)
    assert h.events("ack") == [] and starts(h)
    assert all(not e["ok"] for e in h.events("sync_end"))


def test_partial_upload():
    h = harness(_policy("partial_upload"))
    h.edit(10, "j", "status", status="started").run(200)
    first = starts(h, "status")[0]
    assert sync_requests(h)[first["sync"]].request["changes"] == []
    assert len(h.events("ack")) == 1  # by the next timer sync


def test_unsent_forgets_photos():
    h = harness(_policy("unsent_forgets_photos"), link="edge")
    h.edit(10, "j", "photo", bytes=1000).edit(11, "j", "text").run(12)
    assert [e["n"] for e in h.events("unsent")] == [1]


def test_last_sync_on_failure():
    h = harness(_policy("last_sync_on_failure"))
    h.outage(5, 200).manual(10).run(11)
    failed = [e for e in h.events("sync_end") if not e["ok"]][0]
    assert h.events("last_sync")[-1]["at"] == failed["t"]


def test_drops_offline_edits():
    h = harness(_policy("drops_offline_edits"), link="offline")
    h.edit(10, "j", "text").link(20, "wifi").run(300)
    assert h.events("edit") and not h.events("ack") and h.engine.unsent == 0


def test_retry_new_id():
    h = harness(_policy("retry_new_id"))
    h.lose_responses(10, 11).edit(10, "j", "status", status="started").run(60)
    assert len(h.events("srv_apply")) == 2  # applied twice under two ids
    assert [e["change"] for e in h.events("ack")] == ["w1-c2"]


def test_ignores_records():
    h = harness(_policy("ignores_records"))
    h.dispatch(5, "create", "j", "w1").manual(10).run(20)
    assert h.events("recv") == [] and h.engine.records() == {}


def test_playmaker_auto_download():
    h = harness(_policy("playmaker_auto_download"))
    h.dispatch(5, "create", "a", "w1").run(200)
    assert starts(h, "timer") and h.events("recv")
    good = harness(PLAYMAKER)
    good.dispatch(5, "create", "a", "w1").run(200)
    assert not good.events("recv")


def test_playmaker_save_waits():
    h = harness(_policy("playmaker_save_waits"))
    h.edit(10, "r", "text").run(100)
    assert [e["t"] for e in starts(h, "save")] == [70]


def test_playmaker_no_reconnect_upload():
    h = harness(_policy("playmaker_no_reconnect_upload"), link="offline")
    h.edit(10, "r", "text").link(20, "lte").run(200)
    assert starts(h) == [] and h.engine.unsent == 1


def test_playmaker_partial_pull():
    h = harness(_policy("playmaker_partial_pull"))
    h.dispatch(5, "create", "a", "w1").dispatch(6, "create", "b", "w1").manual(10).run(20)
    assert h.engine.records() == {"a": 1}


def test_every_mutant_has_a_direct_test():
    names = {n for n in MUTANTS}
    text = Path(__file__).read_text()
    assert {n for n in names if f'"{n}"' not in text and f"test_{n}" not in text} == set()
