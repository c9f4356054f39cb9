"""Deliberately broken devices: the registry of ``reference_client.policies.mutants``.

``Engine(device="w1", policy=MUTANTS["ignores_push"].policy)`` runs one.
"""

from reference_client.policies.mutants import MUTANTS, Mutant, get_mutant, mutants_table

__all__ = ["MUTANTS", "Mutant", "get_mutant", "mutants_table"]
