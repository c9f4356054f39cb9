"""Fuzz every operation of the OpenAPI document: no 5xx, no crash.

Schemathesis generates requests (valid and invalid) from ``/openapi.json``;
each is sent to a live in-process server under both kinds of principal: the
operator (the admin token, with a worker token on ``/v1/sync`` so bodies get
past the device check) and a worker on every operation, so the 403 paths and
the worker's own files, uploads and sync are fuzzed too ("the server's HTTP
API (schemathesis, both roles, 0 5xx)"). Bounded: ``MAX_EXAMPLES`` per
operation and role.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode

from reference_server.openapi import OPENAPI

# "bounded examples, e.g. max 30 per operation, total < 30 s": 12 keeps the
# module under 30 s even on a heavily loaded 2-core machine (~10 s of CPU).
MAX_EXAMPLES = 10
SCHEMA = schemathesis.openapi.from_dict(OPENAPI)
OPERATIONS = [r.ok() for r in SCHEMA.get_all_operations()]
SKIP = {("GET", "/v1/push")}  # a WebSocket upgrade, not a request/response operation
# Operations with JSON bodies also get requests that break the schema on purpose
# (wrong types, missing and extra fields): the hand-written validators' work.
NEGATIVE = {("POST", "/v1/sync"), ("POST", "/v1/web/jobs"), ("POST", "/v1/files/{file_id}/finish"),
            ("POST", "/v1/admin/devices"), ("PATCH", "/v1/web/jobs/{record_id}")}
CASES = [(o, GenerationMode.POSITIVE) for o in OPERATIONS if (o.method.upper(), o.path) not in SKIP]
CASES += [(o, GenerationMode.NEGATIVE) for o in OPERATIONS if (o.method.upper(), o.path) in NEGATIVE]


@pytest.fixture(scope="module")
def fuzz_worker(srv):
    return "fz1", srv.provision("fz1")


@pytest.mark.parametrize("role", ["admin", "worker"])
@pytest.mark.parametrize("operation,mode", CASES,
                         ids=[f"{o.method.upper()} {o.path} {m.value}" for o, m in CASES])
def test_no_server_error(operation, mode, role, srv, fuzz_worker):
    device, worker_token = fuzz_worker

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        token = srv.admin_token if role == "admin" else worker_token
        if operation.path == "/v1/sync":
            token = worker_token
            if isinstance(case.body, dict) and "device" in case.body:
                case.body["device"] = device
        resp = case.call(base_url=srv.url, headers={"Authorization": f"Bearer {token}"},
                         timeout=30)
        assert resp.status_code < 500, (case.method, case.formatted_path, case.body,
                                        resp.status_code, resp.text[:300])

    run()
