"""Sync policies and their deliberately broken variants, by name.

``base`` holds the :class:`Policy` knobs and the two reference policies;
``mutants`` the broken devices, each a reference policy with a knob turned.
Both are data, below the engine, so the engine resolves any name on restore.
"""

from __future__ import annotations

from reference_client.policies.base import PLANADO, PLAYMAKER, Policy
from reference_client.policies.mutants import MUTANTS

POLICIES: dict[str, Policy] = {p.name: p for p in (PLANADO, PLAYMAKER)}


def get_policy(name: str) -> Policy:
    """A reference policy or a mutant by name; ValueError names the choices."""
    if name in POLICIES:
        return POLICIES[name]
    if name in MUTANTS:
        return MUTANTS[name].policy
    raise ValueError(f"unknown policy {name!r}; known: {', '.join(sorted(POLICIES))} "
                     f"and the mutants {', '.join(sorted(MUTANTS))}")


__all__ = ["MUTANTS", "PLANADO", "PLAYMAKER", "POLICIES", "Policy", "get_policy"]
