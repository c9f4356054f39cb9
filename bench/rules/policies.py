"""Policies: named rule sets with parameter values (rules.md, "Policies").

"Parameters: the defaults below, overridden by the policy, then by
``meta.params``, then by ``--param`` (an unknown ``--param`` name is an error)."

A user-defined policy comes from a YAML file::

    name: planado-lenient        # required
    extends: planado             # optional: start from a built-in policy's rules
    rules: [core.no_loss, ...]   # optional with extends; ids or "prefix.*"
    exclude: [planado.no_overpoll]
    params: {respond_s: 10}
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.rules.base import DEFAULT_PARAMS, REGISTRY


class PolicyError(ValueError):
    """A bad policy name, file, or parameter; the message is one line."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    name: str
    rules: tuple[str, ...]
    params: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [r for r in self.rules if r not in REGISTRY]
        if unknown:
            raise PolicyError(f"policy {self.name!r}: unknown rule id {unknown[0]!r}")
        bad = sorted(set(self.params) - set(DEFAULT_PARAMS))
        if bad:
            raise PolicyError(f"policy {self.name!r}: unknown parameter {bad[0]!r}")

    def resolve_params(self, *, meta_params: dict[str, Any] | None = None,
                       overrides: dict[str, float] | None = None) -> dict[str, float]:
        values = dict(DEFAULT_PARAMS)
        values.update(self.params)
        for source, layer in (("meta.params", meta_params), ("--param", overrides)):
            for k, v in (layer or {}).items():
                if k not in DEFAULT_PARAMS:
                    if source == "meta.params":
                        continue  # a trace may carry parameters of rules it does not use
                    raise PolicyError(f"unknown parameter {k!r} (known: {', '.join(sorted(DEFAULT_PARAMS))})")
                problem = param_problem(v)
                if problem is not None:
                    raise PolicyError(f"{source}: parameter {k!r} {problem}")
                values[k] = v
        return values


def param_problem(value: Any) -> str | None:
    """Why ``value`` cannot be a rule parameter, or None.

    Every parameter is a duration or tolerance in spec seconds (rules.md,
    "Default parameters"), so it must be a finite number, not negative. JSON and
    YAML ``true`` are not numbers even though Python's bool is an int.
    """
    if type(value) not in (int, float):
        return f"must be a number, got {value!r}"
    if not math.isfinite(value) or value < 0:
        return f"must be a finite number >= 0, got {value!r}"
    return None


def _expand(patterns: list[str], where: str) -> list[str]:
    out: list[str] = []
    for pat in patterns:
        if not isinstance(pat, str):
            raise PolicyError(f"{where}: rule ids must be strings, got {pat!r}")
        if pat.endswith(".*"):
            matched = [r for r in REGISTRY if r.startswith(pat[:-1])]
            if not matched:
                raise PolicyError(f"{where}: {pat!r} matches no rule")
            out += [r for r in sorted(matched) if r not in out]
        elif pat in REGISTRY:
            if pat not in out:
                out.append(pat)
        else:
            raise PolicyError(f"{where}: unknown rule id {pat!r}")
    return out


def _builtin(name: str, prefixes: list[str]) -> Policy:
    return Policy(name=name, rules=tuple(_expand(prefixes, f"policy {name}")))


def builtin_policies() -> dict[str, Policy]:
    # "planado = core.* + planado.*; playmaker = core.* + playmaker.*"
    return {
        "planado": _builtin("planado", ["core.*", "planado.*"]),
        "playmaker": _builtin("playmaker", ["core.*", "playmaker.*"]),
    }


def get_policy(name: str) -> Policy:
    policies = builtin_policies()
    if name not in policies:
        raise PolicyError(f"unknown policy {name!r} (built in: {', '.join(policies)}; use --policy-file for your own)")
    return policies[name]


def load_policy_file(path: str | Path) -> Policy:
    import yaml

    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{where}: cannot read policy file: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise PolicyError(f"{where}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    return policy_from_dict(data, where)


def policy_from_dict(data: Any, where: str) -> Policy:
    if not isinstance(data, dict):
        raise PolicyError(f"{where}: a policy must be a mapping with 'name' and 'rules'")
    unknown = sorted(set(data) - {"name", "extends", "rules", "exclude", "params", "description"})
    if unknown:
        raise PolicyError(f"{where}: unknown key {unknown[0]!r}")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise PolicyError(f"{where}: 'name' must be a non-empty string")
    rules: list[str] = []
    base_params: dict[str, float] = {}
    if "extends" in data:
        try:
            base = get_policy(data["extends"]) if isinstance(data["extends"], str) else None
        except PolicyError as exc:
            raise PolicyError(f"{where}: extends: {exc}") from None
        if base is None:
            raise PolicyError(f"{where}: 'extends' must be a policy name")
        rules = list(base.rules)
        base_params = dict(base.params)
    if "rules" in data:
        if not isinstance(data["rules"], list):
            raise PolicyError(f"{where}: 'rules' must be a list of rule ids")
        rules += [r for r in _expand(data["rules"], f"{where}: rules") if r not in rules]
    if not rules:
        raise PolicyError(f"{where}: the policy names no rules ('rules' or 'extends')")
    if "exclude" in data:
        if not isinstance(data["exclude"], list):
            raise PolicyError(f"{where}: 'exclude' must be a list of rule ids")
        drop = set(_expand(data["exclude"], f"{where}: exclude"))
        rules = [r for r in rules if r not in drop]
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise PolicyError(f"{where}: 'params' must be a mapping of name to number")
    for k, v in params.items():
        if k not in DEFAULT_PARAMS:
            raise PolicyError(f"{where}: params: unknown parameter {k!r}")
        problem = param_problem(v)
        if problem is not None:
            raise PolicyError(f"{where}: params.{k} {problem}")
    base_params.update(params)
    return Policy(name=name, rules=tuple(rules), params=base_params)


def parse_param(text: str) -> tuple[str, float]:
    """``NAME=VALUE`` from the command line."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise PolicyError(f"--param {text!r}: expected NAME=VALUE")
    if name not in DEFAULT_PARAMS:
        raise PolicyError(f"--param {name}: unknown parameter (known: {', '.join(sorted(DEFAULT_PARAMS))})")
    try:
        num = float(value)
    except ValueError:
        raise PolicyError(f"--param {name}: {value!r} is not a number") from None
    problem = param_problem(num)
    if problem is not None:
        raise PolicyError(f"--param {name}: {problem}")
    return name, int(num) if num.is_integer() else num
