"""Fixtures of the suite tests: a small scenario to run."""

from __future__ import annotations

import pytest

# One worker and a fleet of two on 3G, 9 spec minutes: seconds in simulation.
PAIR = """\
name: tiny-pair
policy: planado
seed: 5
duration: 6m
settle: 3m
settle_link: 3g
fleet: {size: 2, prefix: f, link: 3g, mobility: underground, behaviour: field_worker}
devices:
  - id: w1
    link: 3g
    timeline:
      - {t: 0, app: opened}
      - {t: 50, edit: status, record: job-1, status: en_route}
      - {t: 100, manual: pull}
dispatch:
  - {t: 5, op: create, record: job-1, assignee: w1, status: new}
"""


@pytest.fixture
def pair() -> str:
    """The text of a small Planado scenario (3 devices on 3G, 6 + 3 spec minutes)."""
    return PAIR
