"""syncbench: a test bench for mobile sync over bad links.

Layers, each importing only the ones to its left::

    trace -> rules -> (sim | link | real | load) -> report -> cli

``reference_client`` and ``reference_server`` never import ``bench``; the
bench drives them (or a team's own implementation) from outside.
"""

__version__ = "0.1.0"
