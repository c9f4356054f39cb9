"""Validation helpers for scenario files (docs/scenarios.md).

Theory of operation: a scenario file is YAML; ``parse.load_scenario`` reads
it, ``parse.parse_scenario`` walks the decoded mapping key by key and builds the
frozen :class:`~bench.scenario.model.Scenario`. Every problem raises
:class:`ScenarioError` with one line naming the file, the key path and what is
wrong, e.g.::

    scenarios/x.yaml: devices[2].timeline[0].link: unknown profile 'lte5' (known: gprs, edge, ...)

Unknown keys are errors too (a typo must not silently become a default).
Names are checked against the registries passed to ``parse_scenario``
(``parse.default_registries``): link profiles and mobility presets
(:mod:`bench.link`), behaviour presets and server mutants (:mod:`bench.scenario`),
client policies and mutants (``reference_client``), rule ids and parameters
(:mod:`bench.rules`).
"""

from __future__ import annotations

import math
import re
from typing import Any

from bench.scenario.limits import MAX_NUMBER
from bench.scenario.model import Dist

APP_STATES = ("opened", "minimized", "restored", "closed")
EDIT_KINDS = ("text", "photo", "status")
DISPATCH_OPS = ("create", "assign", "unassign", "status", "edit", "attach")
VERDICTS = ("pass", "fail", "n/a")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# One number and unit ("90s", "1.5h") or Locust's compound form ("1h30m",
# "2m15s"): units in falling order, each once.
_DURATION = re.compile(r"\s*(?:(?P<d>[0-9]*\.?[0-9]+)\s*d)?\s*(?:(?P<h>[0-9]*\.?[0-9]+)\s*h)?"
                       r"\s*(?:(?P<m>[0-9]*\.?[0-9]+)\s*m)?\s*(?:(?P<s>[0-9]*\.?[0-9]+)\s*s)?\s*")
_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message is one line."""


class _P:
    """A key path inside one file, for error messages."""

    def __init__(self, source: str, path: str = "") -> None:
        self.source, self.path = source, path

    def __truediv__(self, key: str | int) -> _P:
        if isinstance(key, int):
            return _P(self.source, f"{self.path}[{key}]")
        return _P(self.source, f"{self.path}.{key}" if self.path else key)

    def fail(self, msg: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: {self.path or '(top level)'}: {msg}")


def _mapping(v: Any, p: _P, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise p.fail(f"expected a mapping, got {type(v).__name__}")
    for k in v:
        if k not in allowed:
            raise p.fail(f"unknown key {show(k)} (known: {', '.join(allowed)})")
    return v


def show(v: Any, limit: int = 60) -> str:
    """``repr`` of a value cut to ``limit`` characters, so a message stays one short line."""
    r = repr(v)
    return r if len(r) <= limit else f"{r[:limit]}... ({len(r):,} characters)"


def _str(v: Any, p: _P) -> str:
    if not isinstance(v, str) or not v:
        raise p.fail(f"expected a non-empty string, got {show(v)}")
    return v


def _ident(v: Any, p: _P) -> str:
    s = _str(v, p)
    if not _ID.match(s):
        raise p.fail(f"{show(s)} is not an id (1-128 characters of A-Za-z0-9._:@-)")
    return s


def _num(v: Any, p: _P, *, lo: float = 0.0, positive: bool = False,
         hi: float = MAX_NUMBER) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise p.fail(f"expected a number, got {show(v)}")
    # YAML's .nan and .inf are floats: NaN passes every comparison below.
    if isinstance(v, float) and not math.isfinite(v):
        raise p.fail(f"expected a finite number, got {v!r}")
    if v < lo or (positive and v <= 0):
        raise p.fail(f"must be {'> 0' if positive else f'>= {lo:g}'}, got {show(v)}")
    if v > hi:
        raise p.fail(f"must be <= {hi:g}, got {show(v)}")
    return float(v)


def _int(v: Any, p: _P, *, lo: int = 0, hi: int = int(MAX_NUMBER)) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise p.fail(f"expected an integer >= {lo}, got {show(v)}")
    if v > hi:
        raise p.fail(f"must be <= {hi:,}, got {show(v)}")
    return v


def _bool(v: Any, p: _P) -> bool:
    if not isinstance(v, bool):
        raise p.fail(f"expected true or false, got {show(v)}")
    return v


def _choice(v: Any, p: _P, known: Any, what: str) -> str:
    if not isinstance(v, str) or v not in known:
        raise p.fail(f"unknown {what} {show(v)} (known: {', '.join(known)})")
    return v


def parse_duration(text: str) -> float | None:
    """Seconds from ``"90"``, ``"90s"``, ``"30m"``, ``"8h"``, ``"1d"`` or Locust's
    ``"1h30m"``; None when the text is none of these or not finite."""
    try:
        x = float(text)
    except ValueError:
        m = _DURATION.fullmatch(text)
        if m is None or not any(m.groupdict().values()):
            return None
        x = sum(float(n) * _UNITS[u] for u, n in m.groupdict().items() if n)
    else:
        if text.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
            return None
    return x if math.isfinite(x) else None


def duration(v: Any, p: _P) -> float:
    """Seconds from a number or a string like ``90s``, ``30m``, ``8h``, ``1d``, ``1h30m``."""
    if isinstance(v, str):
        x = parse_duration(v)
        if x is None:
            raise p.fail(f"expected seconds or a duration like '30m', '8h' or '1h30m', "
                         f"got {show(v)}")
        return _num(x, p)
    return _num(v, p)


def dist(v: Any, p: _P) -> Dist:
    """A number (constant) or ``{dist: exp|uniform|lognormal|const, ...}``."""
    if not isinstance(v, dict):
        return Dist(kind="const", a=_num(v, p))
    kind = v.get("dist")
    keys = {"const": ("value",), "exp": ("mean",), "uniform": ("low", "high"),
            "lognormal": ("median", "sigma")}
    if not isinstance(kind, str) or kind not in keys:
        raise (p / "dist").fail(f"unknown distribution {show(kind)} (known: {', '.join(keys)})")
    _mapping(v, p, ("dist", "cap", *keys[kind]))
    for k in keys[kind]:
        if k not in v:
            raise p.fail(f"a {kind} distribution needs {k!r}")
    vals = [_num(v[k], p / k) for k in keys[kind]]
    if kind == "uniform" and vals[1] < vals[0]:
        raise (p / "high").fail(f"must be >= low ({vals[0]:g}), got {vals[1]:g}")
    cap = _num(v["cap"], p / "cap", positive=True) if "cap" in v else None
    return Dist(kind=kind, a=vals[0], b=vals[1] if len(vals) > 1 else 0.0, cap=cap)


def _mix(v: Any, p: _P, known: Any, what: str) -> tuple[tuple[str, float], ...]:
    if isinstance(v, str) or v is None:
        return (((_choice(v, p, known, what) if v is not None else "none"), 1.0),)
    m = _mapping(v, p, tuple(known))
    out = tuple((k, _num(w, p / k)) for k, w in m.items())
    if not out or sum(w for _, w in out) <= 0:
        raise p.fail("a mix needs at least one positive weight")
    return out


def _windows(v: Any, p: _P) -> tuple[tuple[float, float], ...]:
    if not isinstance(v, list):
        raise p.fail(f"expected a list of [from, to] pairs, got {show(v)}")
    out = []
    for i, w in enumerate(v):
        if not isinstance(w, list) or len(w) != 2:
            raise (p / i).fail(f"expected [from, to], got {show(w)}")
        a, b = duration(w[0], p / i), duration(w[1], p / i)
        if b < a:
            raise (p / i).fail(f"ends ({b:g}) before it starts ({a:g})")
        out.append((a, b))
    return tuple(out)
