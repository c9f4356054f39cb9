"""--time-scale auto: the calibration's search and cache, and the runner's choice of K."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bench.real import calibrate as cal
from bench.real.calibrate import BUDGET, Calibration, ProfileScale, calibrate, profile_scale
from bench.real.plan import DevicePlan, RealRunError
from bench.real.scale import (
    AUTO_MAX_K,
    FLEET_FREE_DEVICES,
    RUN_MARGIN,
    busy_links,
    choose_scale,
    fleet_k,
)


def _dev(i: int, *profiles: str) -> DevicePlan:
    return DevicePlan(id=f"w{i}", policy="planado", mutant=None, push=True, behaviour=None,
                      links=tuple((60.0 * n, p) for n, p in enumerate(profiles)), steps=(), seed=i)


def _cal(**ks: float) -> Calibration:
    return Calibration(profiles={p: ProfileScale(profile=p, k=k, comp_ms=4.0, drift=0.01,
                                                 why=f"{p} why") for p, k in ks.items()})


def test_auto_takes_the_smallest_k_of_the_profiles_used_and_says_why() -> None:
    asked: list[list[str]] = []

    def fake(profiles):
        asked.append(list(profiles))
        return _cal(**{"3g": 40.0, "edge": 60.0, "lte": 5.0})

    scale = choose_scale([_dev(0, "3g", "offline", "edge")], None, "x.yaml", calibrate_fn=fake)
    assert asked == [["3g", "edge"]]  # offline carries no data: nothing to calibrate
    # A quarter off the calibrated K: the run meets the machine's pace as it moves.
    assert scale.k == 40 * RUN_MARGIN == 24 and scale.auto
    assert scale.why.startswith("60% of K=40, the largest at which 3g, edge keep within")
    assert "bound by 3g: 3g why" in scale.why
    # The compensation is the machine's own time per exchange, whatever K: the links
    # take it off their latency and give what LTE's 1.75 ms cannot take as burst credit.
    assert scale.base_rtt_ms == {"3g": 4.0, "edge": 4.0, "lte": 4.0}


def test_auto_refuses_only_a_profile_no_k_of_one_or_more_honours() -> None:
    with pytest.raises(RealRunError, match=r"x\.yaml: no time scale K >= 1 honours profile "
                                           r"'wifi' on this machine: wifi why"):
        choose_scale([_dev(0, "wifi", "lte")], "auto", "x.yaml",
                     calibrate_fn=lambda p: _cal(wifi=0.0, lte=3.0))
    scale = choose_scale([_dev(0, "wifi", "lte")], "auto", "x.yaml",
                         calibrate_fn=lambda p: _cal(wifi=1.0, lte=3.0))
    assert scale.k == 1.0


def test_auto_without_a_shaped_link_takes_the_cap() -> None:
    scale = choose_scale([_dev(0, "offline")], None, "x.yaml", calibrate_fn=lambda p: _cal())
    assert scale.k == AUTO_MAX_K and "no shaped link" in scale.why


def test_an_explicit_k_is_kept_with_the_machines_compensation() -> None:
    scale = choose_scale([_dev(0, "3g")], 60.0, "x.yaml", calibrate_fn=lambda p: _cal(**{"3g": 20.0}))
    assert scale.k == 60 and not scale.auto and scale.why == "--time-scale"
    # 4 ms: all of 3G's 3.3 ms scaled RTT and 0.7 ms of burst credit (profiles.toxics).
    assert scale.base_rtt_ms["3g"] == 4.0


def test_a_large_fleet_lowers_k_and_says_so() -> None:
    assert fleet_k(40.0, FLEET_FREE_DEVICES) == 40.0
    assert fleet_k(40.0, 4 * FLEET_FREE_DEVICES) < 40.0
    assert fleet_k(1.5, 10_000) == 1.0  # never below 1
    devices = [_dev(i, "3g") for i in range(50)]
    scale = choose_scale(devices, None, "x.yaml", calibrate_fn=lambda p: _cal(**{"3g": 40.0}))
    assert scale.k == fleet_k(24.0, 50) < 24.0
    assert f"lowered from K=24 for 50 devices (calibrated for {FLEET_FREE_DEVICES})" in scale.why
    assert "the largest at which 3g keeps within" in scale.why


class _Api:
    def __init__(self) -> None:
        self.applied: list[tuple[str, float, float]] = []

    def toxics(self, proxy):
        return [{"name": "link_latency_upstream"}]

    def remove_toxic(self, proxy, name):
        pass

    def apply_profile(self, proxy, profile, k, base_rtt_ms=0.0):
        self.applied.append((profile, k, base_rtt_ms))


class _Probe:
    """Drift proportional to K: what a machine's fixed wall cost per exchange gives."""

    def __init__(self, per_k: float, excess_ms: float = 3.0) -> None:
        self.per_k, self.excess_ms = per_k, excess_ms

    async def prepare(self, profile):
        pass

    async def excess(self, profile, k):
        return self.excess_ms

    async def drift(self, profile, k):
        return self.per_k * k


def _scale(name, api, probe) -> ProfileScale:
    return asyncio.run(profile_scale(name, api, probe))


def _tries(api: _Api) -> list[float]:
    """The Ks the drift was measured at (with a compensation; the excess is measured bare)."""
    return [k for _, k, comp in api.applied if comp]


def test_profile_scale_shrinks_k_until_the_drift_fits_the_budget() -> None:
    api = _Api()
    ps = _scale("3g", api, _Probe(per_k=0.004))  # +24 % at 60
    assert 1 <= ps.k < 60 and abs(ps.drift) <= BUDGET
    # At most halved a try (one noisy miss must not send K to a fifth), the last miss said.
    assert _tries(api)[:3] == [60, 30, 15]
    # Below k0 each try measures its own excess just before, bare, at its K.
    assert api.applied[2:4] == [("3g", 30.0, 0.0), ("3g", 30.0, 3.0)]
    assert ps.why == "transfers drifted +6% at K=15"
    # The compensation is the measured excess.
    assert ps.comp_ms == 3.0 and api.applied[0] == ("3g", 60.0, 0.0)
    fits = _scale("edge", _Api(), _Probe(per_k=0.0001))
    assert fits.k == 60 and fits.why == "the cap K=60"
    # Beyond the scaled round trip (3.3 ms at K = 60) too: the rest is burst credit.
    over = _scale("3g", _Api(), _Probe(per_k=0.0001, excess_ms=9.0))
    assert over.comp_ms == 9.0


def test_a_latency_the_paths_own_round_trip_covers_is_not_bound_by_the_proxys_resolution() -> None:
    # Wi-Fi's 1 ms each way is under the proxy's 1 ms resolution above K = 1, but a
    # 3 ms path covers it whole: the rate (100 MB/s per stream) bounds K instead.
    api = _Api()
    ps = _scale("wifi", api, _Probe(per_k=0.0001))
    assert api.applied[0] == ("wifi", 1.0, 0.0)  # the excess is measured where the proxy delays
    assert ps.k == 26 and ps.comp_ms == 3.0
    # A path faster than LTE's scaled latency leaves a delay the proxy cannot time: K stays at 35.
    lte = _scale("lte", _Api(), _Probe(per_k=0.0001, excess_ms=0.5))
    assert lte.k == 35 and lte.why == "the proxy's resolution"


def test_profile_scale_gives_zero_when_even_k_1_drifts() -> None:
    ps = _scale("wifi", _Api(), _Probe(per_k=0.5))
    assert ps.k == 0 and ps.drift == 0.5 and "even at K=1" in ps.why
    # Over the budget but within the run's tolerance at K = 1: real time, honoured.
    at_one = _scale("wifi", _Api(), _Probe(per_k=0.07))
    assert at_one.k == 1 and at_one.drift == 0.07 and "within the run's 10% tolerance" in at_one.why


def test_calibration_is_cached_per_machine_and_measures_only_what_is_new(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    measured: list[list[str]] = []

    def fake_measure(names, check):
        assert not check  # each step below is within CHECK_AFTER_S of the last measure
        measured.append(list(names))
        return {n: ProfileScale(profile=n, k=30.0, comp_ms=2.0, drift=0.02, why="w")
                for n in names}, []

    monkeypatch.setattr(cal, "_measure", fake_measure)
    path = tmp_path / "c" / "timescale.json"
    now = [1000.0]
    first = calibrate(["3g", "offline"], cache=path, clock=lambda: now[0])
    assert not first.cached and set(first.profiles) == {"3g"} and measured == [["3g"]]
    again = calibrate(["3g"], cache=path, clock=lambda: now[0])
    assert again.cached and again.profiles["3g"].k == 30 and measured == [["3g"]]
    calibrate(["3g", "edge"], cache=path, clock=lambda: now[0])
    assert measured[-1] == ["edge"]  # 3G came from the cache
    calibrate(["3g"], cache=path, fresh=True, clock=lambda: now[0])
    assert measured[-1] == ["3g"]
    now[0] += cal.CACHE_MAX_AGE_S + 1  # a day later the machine is measured again
    calibrate(["3g"], cache=path, clock=lambda: now[0])
    assert measured[-1] == ["3g"]
    data = json.loads(path.read_text())
    assert list(data) == [cal.machine_key()]
    # Another machine's entry, a stale version or a broken file: measured afresh.
    path.write_text("{not json")
    calibrate(["3g"], cache=path, clock=lambda: now[0])
    assert measured[-1] == ["3g"]


def test_a_cached_k_not_checked_lately_is_checked_and_measured_again_if_it_drifts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine's pace moves within the day: a cached K is checked every
    CHECK_AFTER_S before a run uses it, and measured again when it misses."""
    drift = {"3g": 0.01, "edge": 0.01}  # what the machine does at the cached K now
    calls: list[tuple[list[str], list[str]]] = []

    async def fake_scale(name, api, probe):
        return ProfileScale(profile=name, k=20.0 if calls[-1][1] else 40.0, comp_ms=2.0,
                            drift=0.01, why="w")

    class Probe(_Probe):
        def __init__(self, *args) -> None:  # _measure_all's (url, token, folder)
            super().__init__(per_k=0.0)

        async def drift(self, profile, k):
            return drift[profile]

        async def close(self):
            pass

    def fake_measure(names, check):
        """The real _measure_all over a fake proxy and probe (no processes)."""
        calls.append((list(names), sorted(check)))
        return asyncio.run(cal._measure_all(names, check, _Api(), "", "", tmp_path))

    monkeypatch.setattr(cal, "_Probe", Probe)
    monkeypatch.setattr(cal, "_measure", fake_measure)
    monkeypatch.setattr(cal, "profile_scale", fake_scale)
    path = tmp_path / "timescale.json"
    now = [1000.0]
    first = calibrate(["3g", "edge"], cache=path, clock=lambda: now[0])
    assert calls == [(["3g", "edge"], [])] and first.profiles["3g"].k == 40
    now[0] += cal.CHECK_AFTER_S - 1  # checked lately: used as it is
    assert calibrate(["3g"], cache=path, clock=lambda: now[0]).note == "cached calibration"
    assert len(calls) == 1
    now[0] += 2  # due: checked, still keeping up
    kept = calibrate(["3g"], cache=path, clock=lambda: now[0])
    assert calls[-1] == ([], ["3g"]) and kept.cached and kept.profiles["3g"].k == 40
    assert kept.note == "cached calibration, checked now: 3g +1% at the run's K=24 of 40"
    assert calibrate(["3g"], cache=path, clock=lambda: now[0]).note == "cached calibration"
    now[0] += cal.CHECK_AFTER_S + 1
    drift["3g"] = 0.12  # the machine slowed down: 3G measured again, EDGE still fine
    again = calibrate(["3g", "edge"], cache=path, clock=lambda: now[0])
    assert calls[-1] == ([], ["3g", "edge"]) and again.profiles["3g"].k == 20
    assert again.profiles["edge"].k == 40
    assert again.note == ("cached calibration, checked now: 3g drifted +12% at the run's K=24 "
                          "of the cached 40, measured again: K=20; edge +1% at the run's K=24 of 40")
    # The new K is what the cache holds from now on.
    assert calibrate(["3g"], cache=path, clock=lambda: now[0]).profiles["3g"].k == 20
    # Faster than the budget at the check is noise, not a slower machine: kept.
    now[0] += cal.CHECK_AFTER_S + 1
    drift["edge"] = -0.3
    fast = calibrate(["edge"], cache=path, clock=lambda: now[0])
    assert calls[-1] == ([], ["edge"]) and fast.profiles["edge"].k == 40
    assert fast.note == "cached calibration, checked now: edge -30% at the run's K=24 of 40"


def test_cache_path_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(cal.CACHE_ENV, str(tmp_path))
    assert cal.cache_path() == tmp_path / "timescale.json"
    monkeypatch.delenv(cal.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cal.cache_path() == tmp_path / "xdg" / "syncbench" / "timescale.json"


def test_a_real_calibration_measures_a_profile_through_the_proxy(tmp_path: Path) -> None:
    """The server, the proxy and the client's transfer code, on loopback (a few seconds)."""
    result = calibrate(["edge"], cache=tmp_path / "t.json", fresh=True)
    ps = result.profiles["edge"]
    assert ps.k == 0 or 1 <= ps.k <= 60
    assert ps.k == 0 or abs(ps.drift) <= BUDGET
    assert 0 <= ps.comp_ms <= 840
    assert (tmp_path / "t.json").exists()


def test_one_slow_batch_does_not_decide_k() -> None:
    """K is fitted over every try (the median drift per unit of K), so one slow
    batch at K = 60 costs two tries, not the machine's K."""
    class OneSlow(_Probe):
        def __init__(self) -> None:
            super().__init__(per_k=0.0005)  # +3 % at K = 60: it fits
            self.slow = True

        async def drift(self, profile, k):
            if self.slow:
                self.slow = False
                return 0.30
            return self.per_k * k

    api = _Api()
    ps = _scale("3g", api, OneSlow())
    assert ps.k == 60 and ps.why == "the cap K=60"
    assert _tries(api) == [60, 30, 18]
    assert abs(ps.drift) <= BUDGET  # the fit's drift at K, not the slow batch's


def test_a_k_below_one_is_measured_at_k_of_one() -> None:
    api = _Api()
    ps = _scale("3g", api, _Probe(per_k=0.07))  # +7 % at K = 1: over the budget, within tolerance
    assert api.applied[-1][:2] == ("3g", 1.0)
    assert ps.k == 1 and ps.drift == 0.07


def test_transfers_faster_than_the_link_lower_k_as_slower_ones_do() -> None:
    """An overstated compensation is excess wall time taken off too often: it
    drifts in proportion to K the other way, and the fit takes its size."""
    api = _Api()
    ps = _scale("3g", api, _Probe(per_k=-0.004))
    assert _tries(api) == [60, 30, 15, 12]
    assert ps.k == 12 and ps.why == "transfers drifted -6% at K=15" and ps.drift == -0.048


def test_the_excess_is_the_median_of_its_batches() -> None:
    class Noisy(_Probe):
        def __init__(self) -> None:
            super().__init__(per_k=0.0001)
            # k0's three batches (the try at k0 takes theirs), the run K's three:
            # one slow batch each
            self.reads = iter([3.1, 9.0, 4.5, 3.0, 8.0, 5.0])

        async def excess(self, profile, k):
            return next(self.reads)

    api = _Api()
    ps = _scale("3g", api, Noisy())
    assert api.applied[1] == ("3g", 60.0, 4.5)
    assert ps.comp_ms == 5.0  # the run's: the median of three at its K


def test_the_runs_compensation_is_measured_at_the_runs_k() -> None:
    class PerK(_Probe):
        async def excess(self, profile, k):
            return k / 10  # 6 ms at K = 60, 3.6 at the run's 36

    api = _Api()
    ps = _scale("3g", api, PerK(per_k=0.0001))
    assert ps.k == 60 and ps.comp_ms == 3.6
    assert api.applied[-1] == ("3g", 36.0, 0.0)  # measured bare at RUN_MARGIN of K


def test_a_link_moving_megabytes_a_wall_second_is_busy() -> None:
    # Wi-Fi's 30 Mbit/s at K = 7 is 26 MB a wall second; 3G's 780 kbit/s at K = 60, 5.9.
    assert busy_links(["3g", "wifi"], 7)
    assert not busy_links(["3g", "edge"], 60)
    assert busy_links(["lte"], 6) and not busy_links(["lte"], 5)  # 1.5 MB/s x K against 8
