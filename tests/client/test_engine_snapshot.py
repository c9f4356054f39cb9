"""Persistence (to_dict / from_dict), snapshot events and determinism."""

from __future__ import annotations

import json
import random

import pytest
from client_scenarios import harness, planado_day, playmaker_day

from reference_client import PLANADO, PLAYMAKER, Engine
from reference_client.engine import actions as A
from reference_client.engine import inputs as I


@pytest.mark.parametrize("day,policy", [(planado_day, PLANADO), (playmaker_day, PLAYMAKER)])
def test_same_seed_and_inputs_give_identical_actions(day, policy):
    a, b = day(policy, seed=11), day(policy, seed=11)
    assert a.actions == b.actions
    assert json.dumps(a.trace) == json.dumps(b.trace)


def test_other_seed_moves_only_timer_times():
    a, b = planado_day(PLANADO, seed=1), planado_day(PLANADO, seed=2)
    ta = [e["t"] for e in a.events("sync_start", trigger="timer")]
    tb = [e["t"] for e in b.events("sync_start", trigger="timer")]
    assert ta != tb


def test_no_rng_means_no_jitter():
    eng = Engine(device="w1", policy=PLANADO)
    eng.handle(I.LinkChanged(now=0, link_class="wifi"))
    acts = eng.handle(I.AppChanged(now=0, state="opened"))
    sid = next(a.sync for a in acts if isinstance(a, A.StartSync))
    acts = eng.handle(I.SyncResponse(now=1, sync=sid))
    assert A.SetTimer(deadline=121.0) in acts and eng.next_deadline == 121.0


def test_snapshot_event_on_request():
    h = harness(PLANADO)
    h.dispatch(5, "create", "job-1", "w1")
    h.edit(20, "w1-new", "text")  # unconfirmed local records are not in the snapshot yet
    h.link(19, "offline")
    h.snapshot(30)
    h.run(30)
    assert h.events("snapshot")[-1]["records"] == {"job-1": 1}


def test_to_dict_round_trip_keeps_outbox_ids_and_resume_offsets():
    h = harness(PLANADO, link="3g")
    h.dispatch(5, "create", "job-1", "w1")
    h.edit(10, "job-1", "photo", bytes=3_000_000)
    h.link(25, "offline")
    h.edit(30, "job-1", "text")
    h.run(40)
    eng = h.engine
    saved = json.loads(json.dumps(eng.to_dict()))
    restored = Engine.from_dict(saved, rng=random.Random(1))
    assert restored.to_dict() == saved
    assert restored.unsent == eng.unsent == 2
    assert restored.records() == {"job-1": 1}
    assert restored.app == "closed" and restored.link == "offline"
    acts = restored.handle(I.LinkChanged(now=50, link_class="wifi"))
    acts += restored.handle(I.AppChanged(now=51, state="opened"))
    start = next(a for a in acts if isinstance(a, A.StartTransfer))
    assert start.file == "w1-c1" and start.offset > 0  # resumes the cut upload
    sync = next(a for a in acts if isinstance(a, A.StartSync))
    assert sync.sync == "w1-s3"  # ids continue, never reused
    assert [c["change"] for c in sync.request["changes"]] == ["w1-c2"]
    assert A.ShowUnsent(n=2) in acts  # the restored app shows its counter again


def test_from_dict_rejects_other_formats():
    with pytest.raises(ValueError, match="format"):
        Engine.from_dict({"format": "nope"})


def test_policy_resolved_by_name_on_restore():
    from reference_client.mutants import MUTANTS

    eng = Engine(device="w9", policy=MUTANTS["ignores_push"].policy)
    assert Engine.from_dict(eng.to_dict()).policy is MUTANTS["ignores_push"].policy


@pytest.mark.parametrize("kwargs,field", [
    ({"device": ""}, "device"),
    ({"device": "w1", "policy": "planado"}, "policy"),
    ({"device": "w1", "rng": object()}, "rng"),
    ({"device": "w1", "start": float("nan")}, "start"),
    ({"device": "w1", "start": "0"}, "start"),
])
def test_engine_constructor_validates(kwargs, field):
    with pytest.raises(ValueError, match=rf"Engine\.{field}"):
        Engine(**kwargs)


def test_engine_repr_names_its_state():
    eng = Engine(device="w1", policy=PLANADO)
    assert "w1" in repr(eng) and "planado" in repr(eng)
