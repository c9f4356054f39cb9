"""Same seed, same trace, byte for byte; another seed, another trace."""

import io

from bench.scenario import load_scenario
from bench.sim import simulate


def _bytes(seed: int) -> bytes:
    sc = load_scenario("scenarios/planado-day.yaml").with_overrides(devices=6, hours=1, seed=seed)
    buf = io.BytesIO()
    simulate(sc, trace=buf)
    return buf.getvalue()


def test_same_seed_gives_a_byte_identical_trace():
    a, b = _bytes(3), _bytes(3)
    assert a == b and len(a) > 10_000


def test_another_seed_gives_another_trace():
    assert _bytes(3) != _bytes(4)


def test_meta_line_carries_policy_seed_settled_params_and_scenario():
    first = _bytes(9).split(b"\n", 1)[0]
    assert first.startswith(b'{"ev":"meta","schema":"syncbench.trace/1","policy":"planado",'
                            b'"settled":true,"seed":9,')
    assert b'"scenario":"planado-day"' in first and b'"params":' in first


def test_the_written_trace_checks_the_same_offline():
    import orjson

    from bench.rules import check_events, get_policy
    from bench.trace import read_trace

    sc = load_scenario("scenarios/planado-day.yaml").with_overrides(devices=4, hours=1, seed=2)
    buf = io.BytesIO()
    online = simulate(sc, trace=buf)
    data = buf.getvalue()
    events = [e for e in read_trace(io.BytesIO(data)) if e["ev"] != "meta"]
    meta = orjson.loads(data.split(b"\n", 1)[0])
    offline = check_events(events, get_policy("planado"), meta=meta)
    assert [(r.id, r.verdict, r.judged) for r in offline] == \
        [(r.id, r.verdict, r.judged) for r in online.results]


def test_no_settle_window_means_not_settled():
    from bench.sim import trace_meta

    sc = load_scenario("scenarios/planado-day.yaml")
    assert trace_meta(sc)["settled"] is True
    assert trace_meta(sc.but(settle_s=0.0))["settled"] is False


def test_events_handed_over_in_batches_or_one_by_one_give_the_same_trace_and_verdicts(monkeypatch):
    # The fleet batches events for the checker and the writer, flushed on the
    # clock (Fleet._flush_every); how often must change nothing a user sees.
    import bench.sim.fleet as fleet_mod

    sc = load_scenario("scenarios/planado-day.yaml").with_overrides(devices=6, hours=1, seed=5)

    def run():
        buf = io.BytesIO()
        result = simulate(sc, trace=buf)
        return buf.getvalue(), [(r.id, r.verdict, r.judged, r.violations) for r in result.results]

    batched = run()
    # Every millisecond: about one event a batch.
    monkeypatch.setattr(fleet_mod, "FLUSH_MIN_S", 0.001)
    monkeypatch.setattr(fleet_mod, "FLUSH_MAX_S", 0.001)
    one_by_one = run()
    # Every 7 s, and once an hour (the progress steps flush too).
    monkeypatch.setattr(fleet_mod, "FLUSH_MIN_S", 7.0)
    monkeypatch.setattr(fleet_mod, "FLUSH_MAX_S", 7.0)
    odd = run()
    monkeypatch.setattr(fleet_mod, "FLUSH_MIN_S", 3600.0)
    monkeypatch.setattr(fleet_mod, "FLUSH_MAX_S", 3600.0)
    hourly = run()
    assert batched == one_by_one == odd == hourly
    assert len(batched[0]) > 10_000
