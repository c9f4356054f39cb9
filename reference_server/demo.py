"""Demo data: a dispatcher, three workers and a few jobs.

Theory of operation: ``--demo`` calls :func:`seed` once after start-up; it
goes through the same core operations as the API (so the trace shows the
``dispatch`` events of the demo jobs) and returns the tokens to print. Users
that already exist (a restart on the same db) are left alone.
"""

from __future__ import annotations

import asyncio

from reference_server.auth import ADMIN
from reference_server.state import ServerState

DEMO_WORKERS = ("w1", "w2", "w3")
DEMO_DISPATCHER = "dispatcher"
# Two jobs per worker and one unassigned: enough to see sync, push and scope.
DEMO_JOBS = (
    ("job-1", "w1", "Replace boiler valve", "12 Harbour St"),
    ("job-2", "w1", "Annual inspection", "3 Mill Lane"),
    ("job-3", "w2", "Install meter", "88 King Rd"),
    ("job-4", "w2", "Fix leaking pipe", "7 Elm Ct"),
    ("job-5", "w3", "Survey new site", "1 Quarry Way"),
    ("job-6", "w3", "Replace filter", "19 Bridge St"),
    ("job-7", None, "Unassigned call-out", "40 Station Rd"),
)


def seed(state: ServerState) -> dict[str, str]:
    """Create the demo users and jobs if absent; return {device: token} of new devices."""
    tokens: dict[str, str] = {}
    if state.store.user_role(DEMO_DISPATCHER) is None:
        tokens[DEMO_DISPATCHER] = state.provision(user=DEMO_DISPATCHER, role="dispatcher")
    for w in DEMO_WORKERS:
        if state.store.user_role(w) is None:
            tokens[w] = state.provision(user=w, role="worker")
    for rid, who, title, address in DEMO_JOBS:
        if state.store.get_record(rid) is None:
            _, pushes = state.core.web_create(
                ADMIN, record_id=rid, rtype="job", assignee=who,
                fields={"title": title, "address": address, "status": "new"})
            # Through the hub like any dispatch, so the trace has its srv_push.
            asyncio.run(state.hub.deliver(pushes))
    return tokens
