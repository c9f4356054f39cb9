"""The rule catalogue (docs/rules.md), checked on traces.

One module per rule (``core_*.py``, ``planado_*.py``, ``playmaker_*.py``),
each registering one :class:`~bench.rules.base.Rule` subclass by id. Rules read
traces only: nothing here imports the simulator, the link layer or the
reference implementations.
"""

from __future__ import annotations

import importlib
import pkgutil

from bench.rules.base import DEFAULT_PARAMS, FAIL, NA, PASS, REGISTRY, Rule, RuleResult, Violation
from bench.rules.checker import Checker, check_events
from bench.rules.policies import (
    Policy,
    PolicyError,
    builtin_policies,
    get_policy,
    load_policy_file,
    parse_param,
    policy_from_dict,
)

_RULE_PREFIXES = ("core_", "planado_", "playmaker_")

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.startswith(_RULE_PREFIXES):
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = [
    "DEFAULT_PARAMS", "FAIL", "NA", "PASS", "REGISTRY", "Checker", "Policy", "PolicyError", "Rule",
    "RuleResult", "Violation", "builtin_policies", "check_events", "get_policy", "load_policy_file",
    "parse_param", "policy_from_dict",
]
