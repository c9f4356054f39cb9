"""Fuzz every operation of the OpenAPI document: no 5xx, no crash.

Schemathesis generates requests (valid and invalid) from ``/openapi.json``;
each is sent to a live in-process server with a worker token on ``/v1/sync``
(device set to that worker, so bodies get past the device check) and the
admin token elsewhere. Bounded: ``MAX_EXAMPLES`` per operation.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from reference_server.openapi import OPENAPI

# "bounded examples, e.g. max 30 per operation, total < 30 s": 15 keeps the
# whole module near 20 s on a loaded 2-core machine.
MAX_EXAMPLES = 15
SCHEMA = schemathesis.openapi.from_dict(OPENAPI)
OPERATIONS = [r.ok() for r in SCHEMA.get_all_operations()]
SKIP = {("GET", "/v1/push")}  # a WebSocket upgrade, not a request/response operation


@pytest.fixture(scope="module")
def fuzz_worker(srv):
    return "fz1", srv.provision("fz1")


@pytest.mark.parametrize("operation", [o for o in OPERATIONS
                                       if (o.method.upper(), o.path) not in SKIP],
                         ids=lambda o: f"{o.method.upper()} {o.path}")
def test_no_server_error(operation, srv, fuzz_worker):
    device, worker_token = fuzz_worker

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case):
        token = srv.admin_token
        if operation.path == "/v1/sync":
            token = worker_token
            if isinstance(case.body, dict) and "device" in case.body:
                case.body["device"] = device
        resp = case.call(base_url=srv.url, headers={"Authorization": f"Bearer {token}"},
                         timeout=30)
        assert resp.status_code < 500, (case.method, case.formatted_path, case.body,
                                        resp.status_code, resp.text[:300])

    run()
