"""Build the example traces in this folder (``python scenarios/traces/examples.py``).

Each trace tells a short working day as a story, written with
:class:`bench.testing.TraceBuilder`. The clean days obey every rule of their
policy; the broken days break named rules, and say so in the meta line's
``expect`` field (an optional extension of ``syncbench.trace/1``: rule id ->
expected verdict; rules not named are expected to pass or be n/a), which
``syncbench run`` and the tests hold them to. A test rebuilds the files and
fails when they are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.testing import TraceBuilder

HERE = Path(__file__).resolve().parent


def _sync(tb: TraceBuilder, dev: str, t: float, trigger: str, end: float, *, applies=(), recvs=(), unsent_after=None):
    """A successful sync: apply + ack ``applies`` [(change, record, version)], store ``recvs``
    [(record, version)], then show the new unsent count and last sync time."""
    sid = tb.sync_start(t, dev, trigger)
    mid = round((t + end) / 2, 3)
    for change, record, version in applies:
        tb.srv_apply(mid, dev, change, record, version)
        tb.ack(mid, dev, change)
    if unsent_after is not None:
        tb.unsent(mid, dev, unsent_after)
    for record, version in recvs:
        tb.recv(mid, dev, record, version, sync=sid)
    tb.sync_end(end, dev, sid, ok=True)
    tb.last_sync(end, dev, end)
    return sid


def planado_day(*, broken: bool = False) -> TraceBuilder:
    expect = {"planado.cadence": "fail", "planado.slow_no_files": "fail",
              "planado.unsent_count": "fail", "planado.push_sync": "fail"} if broken else None
    tb = TraceBuilder("planado", settled=True, seed=1, extra_meta={"expect": expect} if expect else None)
    # d1: a field worker on Wi-Fi, then EDGE, then LTE.
    tb.link(0, "d1", "wifi").app(0, "d1", "opened")
    tb.dispatch(0, "create", "job-1", "d1", version=1, status="new")
    _sync(tb, "d1", 0.2, "open", 1.0, recvs=[("job-1", 1)])
    tb.srv_push(0.5, "d1", "job-1", reason="create")
    tb.push(1.0, "d1", "job-1", reason="create")
    if not broken:
        _sync(tb, "d1", 1.5, "push", 2.0)
    c1 = tb.edit(30, "d1", "job-1", "status", status="en_route")
    tb.unsent(30, "d1", 1)
    _sync(tb, "d1", 30.5, "status", 31.2, applies=[(c1, "job-1", 2)], unsent_after=0)
    _sync(tb, "d1", 151, "timer", 151.5)
    tb.link(200, "d1", "edge")
    c2 = tb.edit(210, "d1", "job-1", "photo", bytes=300_000)
    tb.unsent(210, "d1", 0 if broken else 1)  # broken: the counter forgets photos
    c3 = tb.edit(220, "d1", "job-1", "text")
    tb.unsent(220, "d1", 1 if broken else 2)
    if broken:  # broken: the photo goes up on EDGE
        tb.file_start(230, "d1", c2, "up", 300_000).file_end(240, "d1", c2, "up", True, 300_000)
    _sync(tb, "d1", 271, "timer", 272.5, applies=[(c3, "job-1", 3)], unsent_after=0 if broken else 1)
    tb.link(300, "d1", "lte")
    if not broken:
        tb.file_start(301, "d1", c2, "up", 300_000).file_end(305, "d1", c2, "up", True, 300_000)
    _sync(tb, "d1", 305.5, "file", 306.2, applies=[(c2, "job-1", 4)], unsent_after=0)
    tb.dispatch(320, "attach", "job-1", "d1", version=5, file="f1", bytes=200_000)
    tb.srv_push(320.3, "d1", "job-1", reason="attach")
    tb.push(320.6, "d1", "job-1", reason="attach")
    _sync(tb, "d1", 321, "push", 321.6, recvs=[("job-1", 5)])
    tb.file_start(322, "d1", "f1", "down", 200_000).file_end(324, "d1", "f1", "down", True, 200_000)
    tb.manual(400, "d1", via="pull")
    _sync(tb, "d1", 400.5, "manual", 401)
    if broken:  # broken: minimized, the timer stops
        tb.app(450, "d1", "minimized")
        tb.app(580, "d1", "restored")
        _sync(tb, "d1", 580.5, "open", 581)
    else:
        _sync(tb, "d1", 530, "timer", 530.5)
    # d2: a worker on 3G who minimizes the app and loses the signal for a while.
    tb.link(0, "d2", "3g")
    tb.dispatch(2, "create", "job-2", "d2", version=1, status="new")
    tb.srv_push(2.3, "d2", "job-2", reason="create")  # the app is closed: not delivered
    tb.app(5, "d2", "opened")
    _sync(tb, "d2", 5.5, "open", 6.2, recvs=[("job-2", 1)])
    tb.app(60, "d2", "minimized")
    _sync(tb, "d2", 126, "timer", 126.5)
    tb.app(200, "d2", "restored")
    _sync(tb, "d2", 200.5, "open", 201)
    tb.link(230, "d2", "offline")
    e1 = tb.edit(240, "d2", "job-2", "text")
    tb.unsent(240, "d2", 1)
    e2 = tb.edit(250, "d2", "job-2", "text")
    tb.unsent(250, "d2", 2)
    tb.link(300, "d2", "3g")
    _sync(tb, "d2", 300.5, "link", 301.2, applies=[(e1, "job-2", 2), (e2, "job-2", 3)], unsent_after=0)
    _sync(tb, "d2", 421, "timer", 421.5)
    _sync(tb, "d2", 541.5, "timer", 542)
    tb.snapshot(600, "d1", {"job-1": 5}).srv_snapshot(600, "d1", {"job-1": 5})
    tb.snapshot(600, "d2", {"job-2": 3}).srv_snapshot(600, "d2", {"job-2": 3})
    return tb


def playmaker_day(*, broken: bool = False) -> TraceBuilder:
    expect = {"playmaker.no_auto_download": "fail", "playmaker.upload_on_save": "fail"} if broken else None
    tb = TraceBuilder("playmaker", settled=True, seed=2, extra_meta={"expect": expect} if expect else None)
    # r1: a sales rep on LTE who logs calls, loses the signal, and pulls web changes by hand.
    tb.link(0, "r1", "lte").app(0, "r1", "opened")
    tb.dispatch(1, "create", "acct-1", "r1", version=1)
    c1 = tb.edit(20, "r1", "call-1", "text")
    save_at = 35 if broken else 20.5  # broken: the save waits for a timer
    sid = tb.sync_start(save_at, "r1", "save")
    tb.srv_apply(save_at + 0.5, "r1", c1, "call-1", 1).ack(save_at + 0.5, "r1", c1)
    tb.sync_end(save_at + 0.7, "r1", sid, True)
    tb.manual(60, "r1", via="sync icon")
    sid = tb.sync_start(60.5, "r1", "manual")
    tb.recv(61, "r1", "acct-1", 1, sync=sid).sync_end(61.5, "r1", sid, True)
    tb.dispatch(100, "edit", "acct-1", "r1", version=2)
    if broken:  # broken: a timer downloads web changes
        sid = tb.sync_start(120, "r1", "timer")
        tb.recv(120.5, "r1", "acct-1", 2, sync=sid).sync_end(121, "r1", sid, True)
    tb.link(150, "r1", "offline")
    c2 = tb.edit(160, "r1", "call-2", "text")
    tb.link(200, "r1", "lte")
    sid = tb.sync_start(200.5, "r1", "link")
    tb.srv_apply(201, "r1", c2, "call-2", 1).ack(201, "r1", c2).sync_end(201.2, "r1", sid, True)
    tb.manual(300, "r1")
    sid = tb.sync_start(300.5, "r1", "manual")
    tb.recv(301, "r1", "acct-1", 2, sync=sid).sync_end(301.5, "r1", sid, True)
    final = {"acct-1": 2, "call-1": 1, "call-2": 1}
    tb.snapshot(400, "r1", final).srv_snapshot(400, "r1", final)
    return tb


EXAMPLES = {
    "planado_clean_day.jsonl": lambda: planado_day(),
    "planado_broken_day.jsonl": lambda: planado_day(broken=True),
    "playmaker_clean_day.jsonl": lambda: playmaker_day(),
    "playmaker_broken_day.jsonl": lambda: playmaker_day(broken=True),
}


def build_all(folder: Path = HERE) -> dict[str, bytes]:
    return {name: make().lines() for name, make in EXAMPLES.items()}


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for name, data in build_all().items():
        (out / name).write_bytes(data)
        print(f"wrote {out / name}")
