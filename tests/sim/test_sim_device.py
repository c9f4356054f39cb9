"""The device driver: syncs over links, cuts, hangs, transfers, timers."""

import pytest
from sim_helpers import of, run, verdicts

from bench.sim.device import SYNC_TIMEOUT_S

BASE = """
name: device-test
policy: planado
duration: 1000
settle: 0
server:
  service: 0.01
devices:
  - id: w1
    link: {link}
    timeline:
      - {{t: 0, app: opened}}
{steps}
"""


def day(link="wifi", steps=""):
    return BASE.format(link=link, steps=steps)


def test_a_sync_takes_both_trips_plus_service():
    # edge: 0.42 s one way; request 250+180 B up at 25,000 B/s; 10 ms service;
    # response 200+90+400 B down at 30,000 B/s (one ack, one record).
    _, ev = run(day("edge", "      - {t: 100, edit: status, record: r1, status: started}"))
    start = of(ev, "sync_start", trigger="status")[0]
    end = of(ev, "sync_end", sync=start["sync"])[0]
    want = (0.42 + 430 / 25_000) + 0.01 + (0.42 + 690 / 30_000)
    assert end["t"] - start["t"] == pytest.approx(want, abs=1e-5)
    # Applied as the queue admits it: when the request is up.
    assert of(ev, "srv_apply")[0]["t"] == pytest.approx(start["t"] + 0.42 + 430 / 25_000,
                                                        abs=1e-5)


def test_link_going_offline_mid_sync_fails_it_at_once_and_the_retry_is_applied_once():
    steps = ("      - {t: 100, edit: status, record: r1, status: started}\n"
             "      - {t: 100.5, link: offline}\n"
             "      - {t: 200, link: edge}")
    res, ev = run(day("edge", steps))
    failed = of(ev, "sync_end", ok=False)
    assert failed and failed[0]["t"] == 100.5 and failed[0]["error"] == "link lost"
    # The server applied it (the request was up by 100.44) but the answer was lost;
    # the retry under the same change id is acknowledged, not applied again.
    assert len(of(ev, "srv_apply")) == 1
    assert len(of(ev, "ack")) == 1
    assert verdicts(res)["core.exactly_once"] == "pass"


def test_blackhole_hangs_the_sync_until_the_client_timeout():
    steps = ("      - {t: 100, edit: status, record: r1, status: started}\n"
             "      - {t: 100.2, link: blackhole}\n"
             "      - {t: 300, link: edge}")
    _, ev = run(day("edge", steps))
    failed = of(ev, "sync_end", ok=False)
    assert failed[0]["error"] == "timeout"
    assert failed[0]["t"] == pytest.approx(100.2 + SYNC_TIMEOUT_S)


def test_outage_and_lost_answers_come_from_the_server_windows():
    text = day("wifi", "      - {t: 100, edit: status, record: r1, status: a}\n"
                       "      - {t: 300, edit: status, record: r1, status: b}")
    text += "  outages: [[90, 110]]\n  lost_responses: [[295, 301]]\n"
    text = text.replace("server:\n  service: 0.01\n", "").replace(
        "  outages", "server:\n  service: 0.01\n  outages")
    _, ev = run(text)
    errors = [e["error"] for e in of(ev, "sync_end", ok=False)]
    assert "http 503" in errors and "response lost" in errors


def test_a_transfer_moves_bytes_at_the_link_rate_and_a_link_change_retimes_it():
    # 3g up: 330 kbps = 41,250 B/s; 412,500 B = 10 s after 0.1 s one way.
    _, ev = run(day("3g", "      - {t: 100, edit: photo, record: r1, bytes: 412500}"))
    end = of(ev, "file_end", file="w1-c1")[0]
    assert end["ok"] and end["t"] == pytest.approx(110.1)
    # Halfway (t=105.1) onto LTE (1,500,000 B/s): the other half takes 0.1375 s.
    _, ev = run(day("3g", "      - {t: 100, edit: photo, record: r1, bytes: 412500}\n"
                          "      - {t: 105.1, link: lte}"))
    end = of(ev, "file_end", file="w1-c1")[0]
    assert end["ok"] and end["t"] == pytest.approx(105.1 + 206_250 / 1_500_000)


def test_an_aborted_upload_resumes_from_the_bytes_moved():
    steps = ("      - {t: 100, edit: photo, record: r1, bytes: 412500}\n"
             "      - {t: 105.1, link: edge}\n"
             "      - {t: 200, link: 3g}")
    _, ev = run(day("3g", steps))
    ends = of(ev, "file_end", file="w1-c1")
    assert [e["ok"] for e in ends] == [False, True]
    assert ends[0]["bytes"] == 206_250 and ends[0]["t"] == 105.1  # abort on a slow link
    assert ends[1]["t"] == pytest.approx(200 + 0.1 + 206_250 / 41_250)


def test_timer_ticks_reach_the_engine_at_its_deadline():
    # A float deadline one ulp past SimPy's now + delay must still fire the timer:
    # without it the device goes silent and planado.cadence fails.
    res, ev = run(day("lte", ""), duration_s=3600.0)
    assert len(of(ev, "sync_start", trigger="timer")) >= 25
    assert verdicts(res)["planado.cadence"] == "pass"


def test_an_engine_action_the_driver_does_not_know_is_an_error(monkeypatch):
    from dataclasses import dataclass

    from bench.sim import device
    from reference_client.engine.actions import Action

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Teleport(Action):
        where: str

    class FakeEngine:
        def handle(self, inp):
            return [Teleport(where="moon")]

    d = device.Device.__new__(device.Device)
    d.engine = FakeEngine()
    with pytest.raises(TypeError, match="unknown engine action"):
        d.feed(object())


def test_every_input_the_driver_makes_is_one_its_constructor_accepts(monkeypatch):
    """The driver builds its inputs, and the server model the parts of its
    answers, without their validating constructors (bench.sim.device,
    bench.sim.server, actions.maker): each must be the very object the
    constructor makes from the same fields, so a field passed in the wrong
    place fails here (a vocabulary, a type) instead of steering an engine."""
    import dataclasses
    import io

    from bench.scenario import load_scenario
    from bench.sim import simulate
    from reference_client.engine.core import Engine

    seen: dict[str, int] = {}
    handle, answer = Engine.handle, Engine.answer

    def again(obj):
        made = type(obj)(**{f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})
        assert made == obj and repr(made) == repr(obj)
        seen[type(obj).__name__] = seen.get(type(obj).__name__, 0) + 1

    def checked(self, inp):
        again(inp)
        return handle(self, inp)

    def checked_answer(self, now, sync, acks=(), records=(), removed=(), files=(), cursor=None):
        for part in (*acks, *records, *files):
            again(part)
        return answer(self, now, sync, acks, records, removed, files, cursor)

    monkeypatch.setattr(Engine, "handle", checked)
    monkeypatch.setattr(Engine, "answer", checked_answer)
    for name in ("planado-day", "planado-rural-edge", "planado-reconnect-storm",
                 "planado-offline-edits", "planado-push-off", "playmaker-day"):
        sc = load_scenario(f"scenarios/{name}.yaml").with_overrides(devices=30, hours=2, seed=3)
        simulate(sc, trace=io.BytesIO())
    assert {"LinkChanged", "AppChanged", "UserEdit", "FileProgress", "FileDone",
            "PushReceived", "SyncFailed", "Ack", "ServerRecord", "FileRef"} <= set(seen), seen
