"""Exercise scenarios: one short scripted day per policy that touches every rule.

Theory of operation: ``syncbench selftest`` needs, for each mutant, a run in
which the mutant's rule has instances to judge, and for the true policies a
run in which every rule passes (and none is n/a). One scripted day per policy
does both: each step below is placed to give one rule (and the mutants of it)
something to judge, with the comment naming it. The days are written in the
scenario file format, so they double as a test of the format; the selftest
swaps in a client or server mutant with ``Scenario.but``.
"""

from __future__ import annotations

import yaml

from bench.scenario.model import Scenario
from bench.scenario.parse import parse_scenario

PLANADO_DAY = """
name: exercise-planado
description: A scripted Planado day with an instance of every planado and core rule.
policy: planado
seed: 11
duration: 2h
settle: 10m
devices:
  - id: w1
    link: wifi
    timeline:
      - {t: 0, app: opened}                                    # sync_on_open
      - {t: 100, edit: status, record: job-1, status: en_route} # sync_on_status, partial_upload
      - {t: 200, edit: text, record: job-1, text: arrived}      # text_flows
      - {t: 300, edit: photo, record: job-1, bytes: 300000}     # unsent_count, fast_files
      - {t: 400, app: minimized}                                # cadence in the background
      - {t: 900, app: restored}                                 # sync_on_open
      - {t: 950, manual: pull}                                  # core.manual_sync
      - {t: 1100, link: edge}                                   # slow link
      - {t: 1150, edit: photo, record: job-1, bytes: 300000}    # slow_no_files
      - {t: 1200, edit: text, record: job-1, text: on edge}     # text_flows on a slow link
      - {t: 1500, link: lte}
      - {t: 2000, link: offline}                                # offline stretch
      - {t: 2050, edit: text, record: job-1, text: offline}     # core.no_loss
      - {t: 2100, edit: status, record: job-1, status: paused}
      - {t: 2300, link: lte}                                    # reconnect
      - {t: 2620, edit: status, record: job-1, status: started} # fails in the outage
      - {t: 3000, edit: status, record: job-1, status: started} # answer lost: a retry
      - {t: 3200, edit: photo, record: job-1, bytes: 300000}    # a photo on LTE
      - {t: 4000, app: closed}
      - {t: 4300, app: opened}
  - id: w2
    link: wifi
    timeline:
      - {t: 0, app: opened}
      - {t: 60, edit: text, record: job-2, text: on my way}
      - {t: 990, link: 3g}
      - {t: 1010, link: edge}                                   # cuts the att-2 download
      - {t: 1060, link: 3g}                                     # resumes it (fast_files)
dispatch:
  - {t: 30, op: create, record: job-1, assignee: w1, status: new}   # push_sent, push_sync
  - {t: 40, op: create, record: job-2, assignee: w2, status: new}
  - {t: 500, op: status, record: job-1, assignee: w1, status: started}
  - {t: 1000, op: attach, record: job-2, assignee: w2, file: att-2, bytes: 3000000}
  - {t: 1020, op: attach, record: job-1, assignee: w1, file: att-1, bytes: 200000}
  - {t: 1030, op: attach, record: job-2, assignee: w2, file: att-3, bytes: 200000}  # after a cut
  - {t: 2150, op: edit, record: job-1, assignee: w1}            # a push to an offline phone
  - {t: 3500, op: edit, record: job-2, assignee: w2}
server:
  outages: [[2600, 2700]]
  lost_responses: [[3000, 3010]]
"""

PLAYMAKER_DAY = """
name: exercise-playmaker
description: A scripted PlayMaker day with an instance of every playmaker and core rule.
policy: playmaker
seed: 12
duration: 1h
settle: 10m
devices:
  - id: s1
    link: wifi
    timeline:
      - {t: 0, app: opened}
      - {t: 100, edit: text, record: s1-r1, text: new account}  # upload_on_save
      - {t: 200, manual: pull}                                  # manual_pulls_all
      - {t: 500, manual: pull}                                  # pulls two changed records
      - {t: 600, link: offline}
      - {t: 650, edit: text, record: s1-r1, text: offline note} # upload_on_reconnect
      - {t: 800, link: lte}
      - {t: 900, edit: status, record: acct-1, status: visited}
      - {t: 1200, manual: pull}
  - id: s2
    link: lte
    timeline:
      - {t: 0, app: opened}
      - {t: 120, edit: text, record: s2-r1, text: call note}
      - {t: 700, manual: pull}
dispatch:
  - {t: 30, op: create, record: acct-1, assignee: s1}
  - {t: 40, op: create, record: acct-2, assignee: s2}
  - {t: 300, op: edit, record: acct-1, assignee: s1}        # a timer pull would see it
  - {t: 400, op: create, record: acct-3, assignee: s1}
  - {t: 410, op: edit, record: acct-1, assignee: s1}
push:
  enabled: false
"""

DAYS = {"planado": PLANADO_DAY, "playmaker": PLAYMAKER_DAY}


def exercise(policy: str) -> Scenario:
    """The exercise day of ``policy`` (``planado`` or ``playmaker``)."""
    return parse_scenario(yaml.safe_load(DAYS[policy]), f"<exercise-{policy}>")
