"""Link profiles as the simulator sees them, transfer-time math, mobility chains."""

import random

import pytest

from bench.link.mobility import presets
from bench.sim import links, mobility


def test_profiles_follow_the_spec_table():
    p = links.profiles()
    # spec/links.md: edge 240/200 kbps, RTT 840 ms; lte 12000 kbps, RTT 70 ms.
    assert p["edge"].down_bps == pytest.approx(240 * 125)
    assert p["edge"].up_bps == pytest.approx(200 * 125)
    assert p["edge"].one_way_s == pytest.approx(0.42)
    assert p["lte"].one_way_s == pytest.approx(0.035)
    assert p["edge"].link_class == "edge"
    assert p["offline"].mode == links.OFFLINE and not p["offline"].online
    assert p["blackhole"].mode == links.BLACKHOLE and p["blackhole"].link_class == "offline"


def test_the_simulator_uses_the_one_profile_table():
    from bench.link.profiles import profiles as link_profiles

    table = link_profiles()
    assert set(links.profiles()) == set(table) and links.source() == "bench.link.profiles"
    for name, prof in links.profiles().items():
        if prof.mode == links.SHAPED:
            assert prof.down_bps == pytest.approx(table[name].shape("down").rate_kbps * 125), name


def test_transfer_time_is_half_rtt_plus_bytes_over_bandwidth():
    edge = links.get("edge")
    # 30,000 bytes down at 240 kbps (30,000 B/s) = 1 s, plus 0.42 s one way.
    assert edge.transfer_s(30_000, "down", None) == pytest.approx(1.42)
    # Up is 200 kbps = 25,000 B/s.
    assert edge.transfer_s(25_000, "up", None) == pytest.approx(1.42)


def test_jitter_comes_from_the_injected_rng_and_stays_in_bounds():
    flaky = links.get("flaky")
    base = flaky.transfer_s(0, "down", None)
    a = [flaky.transfer_s(0, "down", random.Random(3)) for _ in range(3)]
    b = [flaky.transfer_s(0, "down", random.Random(3)) for _ in range(3)]
    assert a == b
    draws = [flaky.transfer_s(0, "down", r) for r in [random.Random(i) for i in range(200)]]
    assert min(draws) >= base - flaky.jitter_s - 1e-9
    assert max(draws) <= base + flaky.jitter_s + 1e-9
    assert len(set(draws)) > 100


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(KeyError, match="known: .*edge"):
        links.get("lte5")


def test_mobility_presets_only_name_known_profiles_and_states():
    known = set(links.profiles())
    for preset in presets().values():
        for state, row in preset.next.items():
            assert state in known and state in preset.dwell_s
            for nxt, w in row.items():
                assert nxt in preset.dwell_s and w > 0 and nxt != state


def test_mobility_transitions_follow_the_weights():
    urban = presets()["urban"]
    rng = random.Random(5)
    n = 20_000
    got = sum(urban.move("offline", rng) == "lte" for _ in range(n)) / n
    assert got == pytest.approx(3 / 5, abs=0.02)


class Phone:
    stopped = False

    def __init__(self, env):
        self.env, self.seen = env, []

    def set_link(self, p):
        self.seen.append((self.env.now, p))


def test_the_simulator_walks_the_chain_the_real_runner_plays():
    """One mobility table, one walk: the simulator's process and the timeline
    the real runner plays make the same draws, so one seed is one day."""
    from bench.sim.calls import Clock, spawn

    for name, model in presets().items():
        phone = Phone(Clock())
        spawn(phone.env, mobility.markov(phone, model, random.Random(3), "lte"))
        phone.env.run(until=8 * 3600)
        seen = phone.seen
        steps = model.steps(random.Random(3), 8 * 3600, own="lte")
        assert seen == [(s.t, s.profile) for s in steps[1:]], name
