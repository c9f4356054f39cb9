"""Every input validates when built; inputs are frozen, slotted, keyword-only."""

from __future__ import annotations

import dataclasses

import pytest

from reference_client.engine import actions as A
from reference_client.engine import inputs as I

GOOD = {
    I.Tick: {},
    I.LinkChanged: {"link_class": "edge"},
    I.AppChanged: {"state": "minimized"},
    I.UserEdit: {"record": "job-1", "kind": "text", "fields": {"note": "x"}},
    I.ManualSync: {"via": "menu"},
    I.PushReceived: {"record": "job-1", "reason": "status"},
    I.SnapshotRequest: {},
    I.SyncResponse: {"sync": "w1-s1"},
    I.SyncFailed: {"sync": "w1-s1", "error": "http 503"},
    I.FileProgress: {"file": "f1", "dir": "down", "bytes": 10},
    I.FileDone: {"file": "f1", "dir": "up", "ok": True},
}

BAD = [
    (I.Tick, {"now": "1"}, "now"),
    (I.Tick, {"now": float("nan")}, "now"),
    (I.Tick, {"now": True}, "now"),
    (I.LinkChanged, {"link_class": "4g"}, "link_class"),
    (I.AppChanged, {"state": "paused"}, "state"),
    (I.UserEdit, {"record": "", "kind": "text", "fields": {"a": 1}}, "record"),
    (I.UserEdit, {"record": "r", "kind": "video"}, "kind"),
    (I.UserEdit, {"record": "r", "kind": "text"}, "fields"),
    (I.UserEdit, {"record": "r", "kind": "text", "fields": {}}, "fields"),
    (I.UserEdit, {"record": "r", "kind": "status"}, "status"),
    (I.UserEdit, {"record": "r", "kind": "photo"}, "bytes"),
    (I.UserEdit, {"record": "r", "kind": "photo", "bytes": 0}, "bytes"),
    (I.UserEdit, {"record": "r", "kind": "photo", "bytes": 10, "sha256": 5}, "sha256"),
    (I.ManualSync, {"via": 3}, "via"),
    (I.PushReceived, {"record": None}, "record"),
    (I.SyncResponse, {"sync": "s", "acks": [1]}, "acks"),
    (I.SyncResponse, {"sync": "s", "removed": ("a", 2)}, "removed"),
    (I.SyncResponse, {"sync": "s", "cursor": 5}, "cursor"),
    (I.SyncFailed, {"sync": ""}, "sync"),
    (I.FileProgress, {"file": "f", "dir": "sideways", "bytes": 1}, "dir"),
    (I.FileProgress, {"file": "f", "dir": "up", "bytes": -1}, "bytes"),
    (I.FileDone, {"file": "f", "dir": "up", "ok": 1}, "ok"),
]


@pytest.mark.parametrize("cls", list(GOOD), ids=lambda c: c.__name__)
def test_good_inputs_build_frozen_slotted_kw_only(cls):
    inp = cls(now=1.5, **GOOD[cls])
    assert inp.now == 1.5
    assert not hasattr(inp, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        inp.now = 2.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        cls(1.5, *GOOD[cls].values())  # positional arguments are refused


def test_every_input_class_is_covered():
    assert set(GOOD) == set(I.ALL_INPUTS)


@pytest.mark.parametrize("cls,kwargs,field", BAD, ids=[f"{c.__name__}-{f}" for c, _, f in BAD])
def test_bad_inputs_raise_naming_the_field(cls, kwargs, field):
    kwargs = {"now": 1.0, **kwargs}
    with pytest.raises(ValueError, match=rf"{cls.__name__}\.{field}"):
        cls(**kwargs)


def test_response_parts_validate():
    with pytest.raises(ValueError, match=r"Ack\.version"):
        I.Ack(change="c", record="r", version="5")
    with pytest.raises(ValueError, match=r"ServerRecord\.id"):
        I.ServerRecord(id="", version=1)
    with pytest.raises(ValueError, match=r"FileRef\.bytes"):
        I.FileRef(id="f", record="r", bytes=-1)


def test_sync_response_from_json():
    body = {"acks": [{"change": "w1-c1", "record": "job-3", "version": 5, "conflict": None}],
            "records": [{"id": "job-3", "type": "job", "version": 5, "assignee": "w1",
                         "fields": {"status": "started"}, "files": []}],
            "removed": ["job-1"], "files": [{"id": "f9", "record": "job-3", "bytes": 12}],
            "cursor": "c7", "server_time": 17.5}
    r = I.SyncResponse.from_json(now=3.0, sync="w1-s2", body=body)
    assert r.acks[0].version == 5 and r.records[0].fields == {"status": "started"}
    assert r.removed == ("job-1",) and r.files[0].bytes == 12 and r.cursor == "c7"
    # upload mode omits records/removed/files
    assert I.SyncResponse.from_json(now=3.0, sync="s", body={"acks": []}).records == ()


def test_sync_response_from_json_rejects_malformed_body():
    with pytest.raises(ValueError, match="malformed"):
        I.SyncResponse.from_json(now=0, sync="s", body={"acks": [{"change": "c"}]})


def test_actions_are_frozen_and_kw_only():
    a = A.SetTimer(deadline=3.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.deadline = 4.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        A.SetTimer(3.0)  # type: ignore[misc]
