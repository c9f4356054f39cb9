"""The scenario file's sections, walked key by key (see load.py for the helpers).

Theory of operation: one function per section, each taking the decoded value
and its key path, returning a frozen dataclass of
:mod:`bench.scenario.model`. Cross-checks that need the whole file (an
``assignee`` that names no device, a client mutant of the other policy, a
step after the end of the run) run last, in :func:`parse_scenario`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bench.scenario import limits
from bench.scenario.load import (
    _P,
    APP_STATES,
    DISPATCH_OPS,
    EDIT_KINDS,
    VERDICTS,
    ScenarioError,
    _bool,
    _choice,
    _ident,
    _int,
    _mapping,
    _mix,
    _num,
    _str,
    _windows,
    dist,
    duration,
    show,
)
from bench.scenario.model import (
    DeviceSpec,
    DispatcherSpec,
    DispatchStep,
    FleetSpec,
    PushSpec,
    Scenario,
    ServerSpec,
    Step,
)

TOP_KEYS = ("name", "description", "policy", "seed", "duration", "settle", "settle_link",
            "params", "fleet", "devices", "dispatch", "dispatcher", "server", "push", "expect")


def default_registries() -> dict[str, Any]:
    """The names a scenario may use, from the layers below the scenario format:
    link profiles and mobility presets (``bench.link``), behaviour presets and
    server mutants (``bench.scenario``), rule policies and parameters
    (``bench.rules``), client policies and mutants (``reference_client``).

    A caller with more (its own profiles or policies) passes its own mapping
    with the same keys to :func:`parse_scenario`.
    """
    from bench.link.mobility import presets
    from bench.link.profiles import profiles
    from bench.rules import DEFAULT_PARAMS, builtin_policies
    from bench.scenario.mutants import SERVER_MUTANTS
    from bench.scenario.people import PRESETS as BEHAVIOURS
    from reference_client import POLICIES
    from reference_client.mutants import MUTANTS

    return {"profiles": list(profiles()), "mobility": list(presets()),
            "behaviour": list(BEHAVIOURS), "clients": list(POLICIES), "mutants": MUTANTS,
            "server_mutants": list(SERVER_MUTANTS), "params": list(DEFAULT_PARAMS),
            "policies": builtin_policies()}


REGISTRY_KEYS = ("profiles", "mobility", "behaviour", "clients", "mutants", "server_mutants",
                 "params", "policies")


def _client(m: dict[str, Any], p: _P, reg: dict[str, Any], policy: str) -> str | None:
    if "client" in m and "mutant" in m:
        raise p.fail("give client or mutant, not both")
    if "mutant" in m:
        name = _choice(m["mutant"], p / "mutant", list(reg["mutants"]), "client mutant")
        base = reg["mutants"][name].base
        if base != policy:
            raise (p / "mutant").fail(f"{name!r} is a {base} mutant but the scenario's "
                                      f"policy is {policy}")
        return name
    if "client" in m:
        return _choice(m["client"], p / "client", reg["clients"] + list(reg["mutants"]), "client")
    return None


def _step(v: Any, p: _P, reg: dict[str, Any]) -> Step:
    m = _mapping(v, p, ("t", "link", "app", "edit", "manual", "snapshot", "record", "status",
                        "bytes", "text"))
    if "t" not in m:
        raise p.fail("a step needs 't'")
    t = duration(m["t"], p / "t")
    kinds = [k for k in ("link", "app", "edit", "manual", "snapshot") if k in m]
    if len(kinds) != 1:
        raise p.fail("a step needs exactly one of link, app, edit, manual, snapshot"
                     + (f" (got {', '.join(kinds)})" if kinds else ""))
    k = kinds[0]
    if k != "edit":
        extra = [x for x in ("record", "status", "bytes", "text") if x in m]
        if extra:
            raise (p / extra[0]).fail(f"only an edit step takes {extra[0]!r}")
    if k == "link":
        return Step(t=t, kind=k, value=_choice(m[k], p / k, reg["profiles"], "profile"))
    if k == "app":
        return Step(t=t, kind=k, value=_choice(m[k], p / k, APP_STATES, "app state"))
    if k == "manual":
        via = m[k]
        return Step(t=t, kind=k, value="" if via is True else _str(via, p / k))
    if k == "snapshot":
        return Step(t=t, kind=k)
    kind = _choice(m[k], p / k, EDIT_KINDS, "edit kind")
    if "record" not in m:
        raise p.fail("an edit step needs 'record'")
    record = _ident(m["record"], p / "record")
    status = _str(m["status"], p / "status") if "status" in m else None
    nbytes = _int(m["bytes"], p / "bytes", lo=1) if "bytes" in m else None
    if kind == "status" and status is None:
        raise p.fail("a status edit needs 'status'")
    if kind == "photo" and nbytes is None:
        raise p.fail("a photo edit needs 'bytes'")
    text = _str(m["text"], p / "text") if "text" in m else None
    return Step(t=t, kind="edit", value=kind, record=record, status=status, bytes=nbytes,
                text=text)


def _timeline(tl: Any, p: _P, reg: dict[str, Any]) -> tuple[Step, ...]:
    if not isinstance(tl, list):
        raise p.fail("expected a list of steps")
    if len(tl) > limits.MAX_STEPS:
        raise p.fail(f"{len(tl):,} steps is over the limit of {limits.MAX_STEPS:,} per timeline")
    steps = tuple(_step(s, p / i, reg) for i, s in enumerate(tl))
    for i in range(1, len(steps)):
        if steps[i].t < steps[i - 1].t:
            raise (p / i / "t").fail(
                f"{steps[i].t:g} is earlier than the step before ({steps[i - 1].t:g})")
    return steps


def _device(v: Any, p: _P, reg: dict[str, Any], policy: str) -> DeviceSpec:
    m = _mapping(v, p, ("id", "client", "mutant", "link", "mobility", "behaviour", "push",
                        "timeline"))
    if "id" not in m:
        raise p.fail("a device needs 'id'")
    steps = _timeline(m.get("timeline", []), p / "timeline", reg)
    mob = m.get("mobility")
    beh = m.get("behaviour")
    return DeviceSpec(
        id=_ident(m["id"], p / "id"), client=_client(m, p, reg, policy) or policy,
        link=_choice(m.get("link", "lte"), p / "link", reg["profiles"], "profile"),
        mobility=None if mob is None else _choice(mob, p / "mobility", reg["mobility"],
                                                  "mobility preset"),
        behaviour=None if beh is None else _choice(beh, p / "behaviour", reg["behaviour"],
                                                   "behaviour preset"),
        push=_bool(m.get("push", True), p / "push"), steps=steps)


def _fleet(v: Any, p: _P, reg: dict[str, Any], policy: str) -> FleetSpec:
    m = _mapping(v, p, ("size", "prefix", "client", "mutant", "link", "mobility", "behaviour",
                        "push_off", "timeline"))
    push_off = _num(m.get("push_off", 0), p / "push_off")
    if push_off > 1:
        raise (p / "push_off").fail(f"a fraction must be <= 1, got {push_off:g}")
    return FleetSpec(
        size=_int(m.get("size", 0), p / "size", hi=limits.MAX_DEVICES), prefix=_ident(m.get("prefix", "w"), p / "prefix"),
        client=_client(m, p, reg, policy),
        link=_choice(m.get("link", "lte"), p / "link", reg["profiles"], "profile"),
        mobility=_mix(m.get("mobility", "urban"), p / "mobility", reg["mobility"],
                      "mobility preset"),
        behaviour=_mix(m.get("behaviour", "field_worker"), p / "behaviour", reg["behaviour"],
                       "behaviour preset"),
        push_off=push_off, steps=_timeline(m.get("timeline", []), p / "timeline", reg))


def _dispatch(v: Any, p: _P) -> DispatchStep:
    m = _mapping(v, p, ("t", "op", "record", "assignee", "status", "file", "bytes"))
    for k in ("t", "op", "record"):
        if k not in m:
            raise p.fail(f"a dispatch step needs {k!r}")
    op = _choice(m["op"], p / "op", DISPATCH_OPS, "dispatch op")
    if op in ("create", "assign") and m.get("assignee") is None:
        raise p.fail(f"a {op} needs 'assignee'")
    if op == "attach" and ("file" not in m or "bytes" not in m):
        raise p.fail("an attach needs 'file' and 'bytes'")
    return DispatchStep(
        t=duration(m["t"], p / "t"), op=op, record=_ident(m["record"], p / "record"),
        assignee=_ident(m["assignee"], p / "assignee") if m.get("assignee") is not None else None,
        status=_str(m["status"], p / "status") if "status" in m else None,
        file=_ident(m["file"], p / "file") if "file" in m else None,
        bytes=_int(m["bytes"], p / "bytes", lo=1) if "bytes" in m else None)


def _dispatcher(v: Any, p: _P) -> DispatcherSpec:
    m = _mapping(v, p, ("jobs_at_start", "create_per_h", "edit_per_h", "status_per_h",
                        "attach_per_h", "attach_bytes"))
    kw: dict[str, Any] = {k: _num(m[k], p / k) for k in ("create_per_h", "edit_per_h",
                                                       "status_per_h", "attach_per_h") if k in m}
    if "jobs_at_start" in m:
        kw["jobs_at_start"] = _int(m["jobs_at_start"], p / "jobs_at_start")
    if "attach_bytes" in m:
        kw["attach_bytes"] = dist(m["attach_bytes"], p / "attach_bytes")
    return DispatcherSpec(**kw)


def _server(v: Any, p: _P, reg: dict[str, Any]) -> ServerSpec:
    m = _mapping(v, p, ("workers", "service", "mutant", "outages", "lost_responses"))
    kw: dict[str, Any] = {}
    if "workers" in m:
        kw["workers"] = _int(m["workers"], p / "workers", lo=1)
    if "service" in m:
        kw["service_s"] = dist(m["service"], p / "service")
        # A zero service time is a server of infinite capacity: the queue
        # model (and every utilisation figure) divides by it.
        if not kw["service_s"].mean > 0:
            raise (p / "service").fail("the mean service time must be > 0")
    if m.get("mutant") is not None:
        kw["mutant"] = _choice(m["mutant"], p / "mutant", reg["server_mutants"], "server mutant")
    for k in ("outages", "lost_responses"):
        if k in m:
            kw[k] = _windows(m[k], p / k)
    return ServerSpec(**kw)


def _push(v: Any, p: _P, reg: dict[str, Any]) -> PushSpec:
    m = _mapping(v, p, ("enabled", "delay", "ttl", "mutant"))
    kw: dict[str, Any] = {}
    if "enabled" in m:
        kw["enabled"] = _bool(m["enabled"], p / "enabled")
    if "delay" in m:
        kw["delay_s"] = dist(m["delay"], p / "delay")
    if "ttl" in m:
        kw["ttl_s"] = duration(m["ttl"], p / "ttl")
    if m.get("mutant") is not None:
        kw["mutant"] = _choice(m["mutant"], p / "mutant", reg["server_mutants"], "server mutant")
    return PushSpec(**kw)


def parse_scenario(data: Any, source: str = "<scenario>",
                   registries: dict[str, Any] | None = None) -> Scenario:
    """A validated :class:`Scenario` from a decoded YAML mapping; names are checked
    against ``registries`` (default: :func:`default_registries`)."""
    top = _P(source)
    reg = default_registries() if registries is None else registries
    missing = [k for k in REGISTRY_KEYS if k not in reg]
    if missing:
        raise ValueError(f"parse_scenario: registries lack {', '.join(missing)}")
    m = _mapping(data, top, TOP_KEYS)
    for k in ("name", "policy"):
        if k not in m:
            raise top.fail(f"missing required key {k!r}")
    policy = _choice(m["policy"], top / "policy", list(reg["policies"]), "policy")
    rule_ids = reg["policies"][policy].rules
    kw: dict[str, Any] = {"name": _ident(m["name"], top / "name"), "policy": policy,
                          "source": source}
    if "description" in m:
        kw["description"] = _str(m["description"], top / "description")
    if "seed" in m:
        kw["seed"] = _int(m["seed"], top / "seed", hi=limits.MAX_SEED)
    if "duration" in m:
        kw["duration_s"] = duration(m["duration"], top / "duration")
    if "settle" in m:
        kw["settle_s"] = duration(m["settle"], top / "settle")
        if kw["settle_s"] > limits.MAX_SETTLE_S:
            raise (top / "settle").fail(f"{kw['settle_s'] / 3600:g} h is over the limit of "
                                        f"{limits.MAX_SETTLE_S / 3600:g} h")
    if "settle_link" in m:
        kw["settle_link"] = _choice(m["settle_link"], top / "settle_link", reg["profiles"],
                                    "profile")
    params = _mapping(m.get("params", {}), top / "params", tuple(reg["params"]))
    kw["params"] = {k: _num(v, top / "params" / k) for k, v in params.items()}
    if "fleet" in m:
        kw["fleet"] = _fleet(m["fleet"], top / "fleet", reg, policy)
    devs = m.get("devices", [])
    if not isinstance(devs, list):
        raise (top / "devices").fail("expected a list of devices")
    if len(devs) > limits.MAX_DEVICES:
        raise (top / "devices").fail(f"{len(devs):,} devices is over the limit of "
                                     f"{limits.MAX_DEVICES:,} per run")
    kw["devices"] = tuple(_device(d, top / "devices" / i, reg, policy)
                          for i, d in enumerate(devs))
    disp = m.get("dispatch", [])
    if not isinstance(disp, list):
        raise (top / "dispatch").fail("expected a list of dispatcher steps")
    if len(disp) > limits.MAX_STEPS:
        raise (top / "dispatch").fail(f"{len(disp):,} steps is over the limit of "
                                      f"{limits.MAX_STEPS:,}")
    kw["dispatch"] = tuple(_dispatch(d, top / "dispatch" / i) for i, d in enumerate(disp))
    if "dispatcher" in m:
        kw["dispatcher"] = _dispatcher(m["dispatcher"], top / "dispatcher")
    if "server" in m:
        kw["server"] = _server(m["server"], top / "server", reg)
    if "push" in m:
        kw["push"] = _push(m["push"], top / "push", reg)
    expect = _mapping(m.get("expect", {}), top / "expect", tuple(rule_ids))
    kw["expect"] = {k: _choice(v, top / "expect" / k, VERDICTS, "verdict")
                    for k, v in expect.items()}
    sc = Scenario(**kw)
    _cross_check(sc, top)
    return sc


def _cross_check(sc: Scenario, top: _P) -> None:
    ids = [d.id for d in sc.devices]
    seen: set[str] = set()
    for i, d in enumerate(ids):
        if d in seen:
            raise (top / "devices" / i / "id").fail(f"device id {show(d)} is used twice")
        seen.add(d)
    if sc.n_devices == 0:
        raise top.fail("no devices: give 'devices' or a 'fleet' with a size")
    too_big = limits.size_problem(sc.n_devices, sc.duration_s, devices="devices + fleet.size")
    if too_big:
        raise top.fail(too_big)
    timelines = [(top / "devices" / i / "timeline", d.steps) for i, d in enumerate(sc.devices)]
    timelines.append((top / "fleet" / "timeline", sc.fleet.steps))
    for where, steps in timelines:
        for j, s in enumerate(steps):
            if s.t >= sc.duration_s:
                raise (where / j / "t").fail(
                    f"{s.t:g} is not before the end of the run (duration {sc.duration_s:g} s)")
    fleet_ids = sc.fleet.ids()
    clash = seen.intersection(fleet_ids)
    if clash:
        raise (top / "devices").fail(f"device id {sorted(clash)[0]!r} is also a generated fleet id")
    for i, d in enumerate(sc.dispatch):
        if d.assignee is not None and d.assignee not in seen and d.assignee not in fleet_ids:
            shown = ids + fleet_ids[:3] + (["..."] if len(fleet_ids) > 3 else [])
            raise (top / "dispatch" / i / "assignee").fail(
                f"{d.assignee!r} is not a device of this scenario (devices: {', '.join(shown)})")
        if d.t >= sc.duration_s:
            raise (top / "dispatch" / i / "t").fail(
                f"{d.t:g} is not before the end of the run (duration {sc.duration_s:g} s)")


def load_scenario(path: str | Path, registries: dict[str, Any] | None = None) -> Scenario:
    """Read and validate a scenario file; ScenarioError names file and key on a problem."""
    source = str(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(limits.MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > limits.MAX_FILE_BYTES:
        raise ScenarioError(f"{source}: over the limit of {limits.MAX_FILE_BYTES // 2**20} MiB "
                            "for a scenario file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{source}: byte {exc.start}: not UTF-8 text (a scenario is a "
                            "YAML file)") from None
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise ScenarioError(f"{source}: nested too deeply to be a scenario") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f"line {mark.line + 1}"
        elif isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
            where = f"character {exc.position + 1}"
            exc = f"character {exc.character!r} is not allowed in YAML"
        else:
            where = "?"
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise ScenarioError(f"{source}: {where}: not valid YAML ({show(problem, 120)})") from None
    return parse_scenario(data, source, registries)
