"""Scenario files: every kind of mistake gets one line naming file, key path and problem."""

import pytest
import yaml

from bench.scenario import ScenarioError, load_scenario, parse_scenario

GOOD = """
name: ok
policy: planado
duration: 2h
settle: 10m
fleet: {size: 3, mobility: {urban: 1, rural: 2}, behaviour: field_worker}
devices:
  - id: w1
    link: wifi
    timeline:
      - {t: 0, app: opened}
      - {t: 30m, edit: photo, record: job-1, bytes: 1000}
dispatch:
  - {t: 10, op: create, record: job-1, assignee: w1}
server: {workers: 2, service: {dist: exp, mean: 0.05}}
push: {delay: {dist: uniform, low: 0.1, high: 1}, ttl: 5m}
expect: {planado.cadence: pass}
"""


def _parse(text):
    return parse_scenario(yaml.safe_load(text), "scenarios/x.yaml")


def _err(text):
    with pytest.raises(ScenarioError) as exc:
        _parse(text)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("scenarios/x.yaml: ")
    return msg


def test_a_good_file_becomes_frozen_config():
    sc = _parse(GOOD)
    assert sc.duration_s == 7200 and sc.settle_s == 600 and sc.n_devices == 4
    assert sc.devices[0].steps[1].t == 1800 and sc.devices[0].steps[1].bytes == 1000
    assert sc.fleet.mobility == (("urban", 1.0), ("rural", 2.0))
    assert sc.server.service_s.mean == pytest.approx(0.05)
    assert sc.push.ttl_s == 300 and sc.expect == {"planado.cadence": "pass"}
    with pytest.raises(AttributeError):
        sc.seed = 3  # frozen


def test_unknown_profile_names_path_and_known_ones():
    msg = _err(GOOD.replace("{t: 0, app: opened}", "{t: 0, link: lte5}"))
    assert msg.startswith("scenarios/x.yaml: devices[0].timeline[0].link: unknown profile 'lte5' "
                          "(known: ")
    assert "edge" in msg


@pytest.mark.parametrize(("change", "where", "what"), [
    (("name: ok\n", ""), "(top level)", "missing required key 'name'"),
    (("policy: planado", "policy: nope"), "policy", "unknown policy 'nope'"),
    (("duration: 2h", "duration: two hours"), "duration", "duration like"),
    (("duration: 2h", "duraton: 2h"), "(top level)", "unknown key 'duraton'"),
    (("size: 3", "size: -3"), "fleet.size", "integer >= 0"),
    (("urban: 1, rural: 2", "urban: 1, moon: 2"), "fleet.mobility", "unknown key 'moon'"),
    (("behaviour: field_worker", "behaviour: lazy"), "fleet.behaviour", "unknown behaviour preset"),
    (("{t: 0, app: opened}", "{t: 0, app: launched}"), "devices[0].timeline[0].app",
     "unknown app state 'launched'"),
    (("{t: 0, app: opened}", "{t: 0, app: opened, manual: true}"), "devices[0].timeline[0]",
     "exactly one of"),
    (("bytes: 1000}", "bytes: 0}"), "devices[0].timeline[1].bytes", "integer >= 1"),
    (("edit: photo, record: job-1, bytes: 1000", "edit: photo, record: job-1"),
     "devices[0].timeline[1]", "needs 'bytes'"),
    (("{t: 30m, edit", "{t: 3h, edit"), "devices[0].timeline[1].t", "not before the end"),
    (("{t: 0, app: opened}", "{t: 40m, app: opened}"), "devices[0].timeline[1].t",
     "earlier than the step before"),
    (("op: create", "op: delete"), "dispatch[0].op", "unknown dispatch op"),
    (("assignee: w1}", "assignee: w9}"), "dispatch[0].assignee", "not a device"),
    (("dist: exp, mean: 0.05", "dist: pareto, mean: 0.05"), "server.service.dist",
     "unknown distribution 'pareto'"),
    (("low: 0.1, high: 1", "low: 1, high: 0.1"), "push.delay.high", "must be >= low"),
    (("workers: 2", "workers: 0"), "server.workers", "integer >= 1"),
    (("planado.cadence: pass", "planado.cadence: maybe"), "expect.planado.cadence",
     "unknown verdict 'maybe'"),
    (("planado.cadence: pass", "playmaker.upload_on_save: pass"), "expect",
     "unknown key 'playmaker.upload_on_save'"),
    (("size: 3,", "size: 3, mutant: ignores_nothing,"), "fleet.mutant",
     "unknown client mutant"),
    (("size: 3,", "size: 3, mutant: playmaker_save_waits,"), "fleet.mutant",
     "is a playmaker mutant but the scenario's policy is planado"),
    (("server: {workers: 2,", "server: {mutant: srv_nope, workers: 2,"), "server.mutant",
     "unknown server mutant 'srv_nope'"),
    (("settle: 10m", "settle: 10m\nparams: {respond_z: 3}"), "params",
     "unknown key 'respond_z'"),
    (("  - id: w1\n", "  - id: w 1\n"), "devices[0].id", "is not an id"),
    # Non-finite and unbounded numbers (YAML's .nan and .inf are floats).
    (("duration: 2h", "duration: .nan"), "duration", "expected a finite number, got nan"),
    (("duration: 2h", "duration: .inf"), "duration", "expected a finite number, got inf"),
    (("settle: 10m", "settle: -.inf"), "settle", "finite"),
    (("settle: 10m", "settle: 2d"), "settle", "over the limit of 24 h"),
    (("mean: 0.05", "mean: .nan"), "server.service.mean", "finite"),
    (("mean: 0.05", "mean: .inf"), "server.service.mean", "finite"),
    (("mean: 0.05", "mean: 0"), "server.service", "mean service time must be > 0"),
    (("urban: 1, rural: 2", "urban: .nan, rural: 2"), "fleet.mobility.urban", "finite"),
    (("ttl: 5m", "ttl: .inf"), "push.ttl", "finite"),
    (("settle: 10m", "settle: 10m\nparams: {respond_s: .nan}"), "params.respond_s", "finite"),
    (("settle: 10m", "settle: 10m\nseed: 18446744073709551616"), "seed", "must be <= 9,"),
    (("settle: 10m", "settle: 10m\nseed: " + "9" * 400), "seed", "(400 characters)"),
    (("size: 3", "size: 100000000"), "fleet.size", "must be <= 100,000"),
    (("duration: 2h", "duration: 1e300"), "duration", "must be <= 1e+15"),
    (("duration: 2h", "duration: 8d"), "(top level)", "duration: 192 h is over the limit of 168 h"),
])
def test_each_kind_of_mistake_is_named(change, where, what):
    old, new = change
    assert old in GOOD
    msg = _err(GOOD.replace(old, new, 1))
    assert f": {where}: " in msg and what in msg, msg


def test_duplicate_device_ids_and_empty_fleets():
    dup = GOOD.replace("dispatch:", "  - {id: w1}\ndispatch:")
    assert "device id 'w1' is used twice" in _err(dup)
    assert "no devices" in _err("name: x\npolicy: planado\n")


def test_file_level_errors(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml: line \d+: not valid YAML"):
        load_scenario(bad)
    top = tmp_path / "list.yaml"
    top.write_text("- 1\n")
    with pytest.raises(ScenarioError, match="expected a mapping"):
        load_scenario(top)


def test_locust_style_durations():
    sc = _parse(GOOD.replace("duration: 2h", "duration: 1h30m").replace("settle: 10m",
                                                                        "settle: 2m15s"))
    assert sc.duration_s == 5400 and sc.settle_s == 135
    for bad in ("1h30", "30m1h", "h", "1hh", "1e3s"):
        assert "duration like" in _err(GOOD.replace("duration: 2h", f"duration: '{bad}'"))


def test_bad_files_are_one_line(tmp_path):
    """Deep nesting, binary content, a huge file: one line each, no traceback."""
    cases = {"deep.yaml": ("[" * 5000 + "]" * 5000).encode(), "bin.yaml": b"\xff\xfe\x00name: x",
             "big.yaml": b"# " + b"x" * (8 * 1024 * 1024) + b"\n"}
    wants = {"deep.yaml": "nested too deeply", "bin.yaml": "byte 0: not UTF-8 text",
             "big.yaml": "over the limit of 8 MiB"}
    for name, data in cases.items():
        f = tmp_path / name
        f.write_bytes(data)
        with pytest.raises(ScenarioError) as exc:
            load_scenario(f)
        msg = str(exc.value)
        assert msg.startswith(str(f)) and wants[name] in msg and "\n" not in msg, msg


def test_device_hours_are_bounded():
    text = GOOD.replace("size: 3", "size: 90000").replace("duration: 2h", "duration: 30h")
    assert "devices + fleet.size x duration: 2,700,030 device-hours is over the limit" in _err(text)


def test_too_many_steps_is_refused_before_they_are_read():
    data = yaml.safe_load(GOOD)
    data["devices"][0]["timeline"] = [{"t": 0, "app": "opened"}] * 100_001
    with pytest.raises(ScenarioError, match=r"timeline: 100,001 steps is over the limit"):
        parse_scenario(data, "x.yaml")


def test_overrides_resize_the_fleet_and_keep_explicit_devices():
    sc = _parse(GOOD).with_overrides(devices=10, hours=0.5, seed=4)
    assert sc.n_devices == 10 and sc.fleet.size == 9 and sc.duration_s == 1800 and sc.seed == 4


def test_registries_are_passed_in():
    """"registries are passed into scenario parsing": a caller with its own
    profile names passes them; the default comes from the layers below."""
    from bench.scenario.parse import default_registries

    reg = {**default_registries(), "profiles": ["lte", "wifi", "my-5g"]}
    sc = parse_scenario(yaml.safe_load(GOOD.replace("link: wifi", "link: my-5g")), "x.yaml", reg)
    assert sc.devices[0].link == "my-5g"
    with pytest.raises(ScenarioError, match="unknown profile 'my-5g'"):
        parse_scenario(yaml.safe_load(GOOD.replace("link: wifi", "link: my-5g")), "x.yaml")
    with pytest.raises(ValueError, match="registries lack profiles"):
        parse_scenario(yaml.safe_load(GOOD), "x.yaml", {k: v for k, v in reg.items()
                                                      if k != "profiles"})
