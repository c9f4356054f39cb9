"""The server under load: start the reference server, provision the fleet, seed jobs.

Theory of operation: with no ``--host``, :func:`target` starts the reference
server as a subprocess on port 0 with a temporary database
(``reference_server.testing.running_server(subprocess=True)``: the server
must not share the generator's interpreter, whose gevent patching and CPU
would distort both), then provisions through the admin API one device per
load user plus a dispatcher, and creates ``jobs_per_device`` jobs for each
device through the web API so edits and bursts have targets. With ``--host``
the same provisioning runs against that server with ``--admin-token`` (device
ids get a run prefix so runs do not collide). This module imports no Locust;
it runs before Locust is imported.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.load.config import LoadConfig

# Parallel provisioning requests: the admin API answers a few hundred a second
# on one core; eight in flight keep it busy without a storm of our own.
PROVISION_CONCURRENCY = 8
# Seconds one provisioning request may take on a loaded CI machine.
PROVISION_TIMEOUT_S = 30.0


class SetupError(RuntimeError):
    """The server could not be prepared (one line, names the request)."""


def slots(cfg: LoadConfig) -> int:
    """Devices to provision: in distributed mode worker w takes slots w, w+W, ...; Locust
    spreads users evenly, so rounding up to a multiple of W gives every user its own."""
    w = cfg.all_workers
    if w <= 1:
        return cfg.devices
    return -(-cfg.devices // w) * w


@contextmanager
def target(cfg: LoadConfig, *, admin_token: str | None = None,
           work_dir: Path | None = None) -> Iterator[LoadConfig]:
    """Yield ``cfg`` with ``host``, ``tokens`` and ``dispatcher_token`` filled in."""
    if cfg.host:
        if not admin_token:
            raise SetupError("--host needs --admin-token (or SYNCBENCH_ADMIN_TOKEN) to "
                             "provision the fleet")
        prefix = f"ld{secrets.token_hex(3)}-"
        yield provision(cfg, cfg.host, admin_token, prefix=prefix)
        return
    from reference_server.testing import running_server

    with tempfile.TemporaryDirectory(prefix="syncbench-load-", dir=work_dir) as tmp:
        with running_server(db=str(Path(tmp) / "server.db"), subprocess=True) as srv:
            yield provision(cfg, srv.url, srv.admin_token, prefix="w")


def provision(cfg: LoadConfig, url: str, admin_token: str, *, prefix: str) -> LoadConfig:
    headers = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=PROVISION_TIMEOUT_S) as client:
        def post(path: str, body: dict, token: str | None = None) -> dict:
            h = {"Authorization": f"Bearer {token}"} if token else None
            try:
                r = client.post(path, json=body, headers=h)
            except httpx.HTTPError as exc:
                raise SetupError(f"POST {url}{path}: {exc}") from None
            if r.status_code != 201:
                raise SetupError(f"POST {url}{path} {body.get('user') or body.get('id')}: "
                                 f"HTTP {r.status_code} {r.text[:200]}")
            return r.json()

        disp = post("/v1/admin/devices", {"user": f"{prefix}dispatcher", "role": "dispatcher"})
        ids = [f"{prefix}{i}" for i in range(1, slots(cfg) + 1)]
        with ThreadPoolExecutor(PROVISION_CONCURRENCY) as pool:
            tokens = dict(zip(ids, pool.map(
                lambda d: post("/v1/admin/devices", {"user": d, "role": "worker"})["token"],
                ids), strict=True))
            jobs = [(d, j) for d in ids for j in range(1, cfg.jobs_per_device + 1)]
            list(pool.map(lambda dj: post("/v1/web/jobs", {
                "id": f"job-{dj[0]}-{dj[1]}", "assignee": dj[0],
                "fields": {"title": f"job {dj[1]} of {dj[0]}", "status": "new"}},
                disp["token"]), jobs))
    return cfg.replace(host=url, tokens=tokens, dispatcher_token=disp["token"])
