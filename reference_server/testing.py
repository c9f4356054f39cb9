"""Start a reference server for tests, benchmarks and the bench, on port 0.

Theory of operation: :func:`running_server` starts the server either
in-process (uvicorn in a background thread with its own event loop; fast, for
tests) or as a subprocess (``python -m reference_server``; for crash tests
and for runs that must not share the caller's interpreter), waits until it
accepts connections (a readiness flag or its ``{"ready": ...}`` line, never a
sleep), provisions a dispatcher device through the admin API, and yields a
:class:`RunningServer` with the base URL and tokens. All later provisioning
goes through HTTP too, so the caller never touches the server's database from
another thread.

    with running_server() as srv:
        tokens = srv.provision_workers(3)        # {"w1": token, ...}
        httpx.post(srv.url + "/v1/sync", headers=srv.auth(tokens["w1"]), json=...)
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess as sp
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import orjson

from reference_server.auth import new_token
from reference_server.config import ADMIN_TOKEN_ENV, ServerConfig

# How long start-up may take on a loaded 2-core CI machine before we give up.
START_TIMEOUT_S = 30.0
# Poll period while waiting for the in-process server's `started` flag.
READY_POLL_S = 0.005


@dataclass(slots=True, kw_only=True)
class RunningServer:
    url: str
    port: int
    admin_token: str
    dispatcher_token: str = ""
    process: sp.Popen | None = None
    trace: str | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    _admin: httpx.Client | None = None

    def admin_client(self) -> httpx.Client:
        """A keep-alive client authenticated as admin (one TLS-free context, reused)."""
        if self._admin is None:
            self._admin = httpx.Client(base_url=self.url, headers=self.auth(self.admin_token),
                                       timeout=START_TIMEOUT_S)
        return self._admin

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def provision(self, user: str, role: str = "worker", device: str | None = None) -> str:
        """Create ``user`` (if new) with a device (default id = user id); return its token."""
        body: dict = {"user": user, "role": role}
        if device is not None:
            body["device"] = device
        r = self.admin_client().post("/v1/admin/devices", json=body)
        if r.status_code != 201:
            raise RuntimeError(f"provisioning {user}: {r.status_code} {r.text}")
        token = r.json()["token"]
        self.tokens[device or user] = token
        return token

    def provision_workers(self, n: int, *, prefix: str = "w", role: str = "worker",
                          start: int = 1) -> dict[str, str]:
        """``n`` users ``w1..wn``, one device each with the same id; {device: token}."""
        out = {}
        client = self.admin_client()
        for i in range(start, start + n):
            uid = f"{prefix}{i}"
            r = client.post("/v1/admin/devices", json={"user": uid, "role": role})
            if r.status_code != 201:
                raise RuntimeError(f"provisioning {uid}: {r.status_code} {r.text}")
            out[uid] = r.json()["token"]
        self.tokens.update(out)
        return out

    def kill(self) -> None:
        """SIGKILL a subprocess server (crash test)."""
        if self.process is None:
            raise RuntimeError("kill() needs running_server(subprocess=True)")
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=START_TIMEOUT_S)


def _with_dispatcher(srv: RunningServer) -> RunningServer:
    srv.dispatcher_token = srv.provision("dispatcher", role="dispatcher",
                                         device=f"dispatcher-{secrets.token_hex(4)}")
    return srv


@contextmanager
def running_server(*, db: str = ":memory:", subprocess: bool = False, host: str = "127.0.0.1",
                   trace: str | None = None, trace_epoch: float | None = None,
                   time_scale: float = 1.0, admin_token: str | None = None,
                   files_dir: str | None = None, mutant: str | None = None,
                   extra_args: Sequence[str] = ()) -> Iterator[RunningServer]:
    """Run a server on a free port until the block ends; yields a :class:`RunningServer`."""
    admin_token = admin_token or new_token()
    if subprocess:
        with _subprocess(db=db, host=host, trace=trace, trace_epoch=trace_epoch,
                         time_scale=time_scale, admin_token=admin_token, files_dir=files_dir,
                         extra_args=(*extra_args, *(("--mutant", mutant) if mutant else ()))
                         ) as srv:
            srv.trace = trace
            try:
                yield _with_dispatcher(srv)
            finally:
                srv.close()
        return
    config = ServerConfig(db=db, trace=trace, trace_epoch=trace_epoch, time_scale=time_scale,
                          admin_token=admin_token, files_dir=files_dir, mutant=mutant)
    with _in_thread(config, host) as srv:
        srv.trace = trace
        try:
            yield _with_dispatcher(srv)
        finally:
            srv.close()


@contextmanager
def _in_thread(config: ServerConfig, host: str) -> Iterator[RunningServer]:
    import uvicorn

    from reference_server.app import create_app
    from reference_server.cli import bind

    sock = bind(host, 0)
    port = sock.getsockname()[1]
    app = create_app(config)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name=f"reference-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("in-process server did not start")
        time.sleep(READY_POLL_S)
    try:
        yield RunningServer(url=f"http://{host}:{port}", port=port,
                            admin_token=config.admin_token or "")
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT_S)
        sock.close()


@contextmanager
def _subprocess(*, db: str, host: str, trace: str | None, trace_epoch: float | None,
                time_scale: float, admin_token: str, files_dir: str | None,
                extra_args: Sequence[str]) -> Iterator[RunningServer]:
    cmd = [sys.executable, "-m", "reference_server", "--db", db, "--host", host, "--port", "0",
           "--time-scale", repr(time_scale), *extra_args]
    if trace is not None:
        cmd += ["--trace", trace]
    if trace_epoch is not None:
        cmd += ["--trace-epoch", repr(trace_epoch)]
    if files_dir is not None:
        cmd += ["--files-dir", files_dir]
    env = {**os.environ, ADMIN_TOKEN_ENV: admin_token}
    proc = sp.Popen(cmd, stdout=sp.PIPE, env=env)
    try:
        ready = await_ready(proc)
        yield RunningServer(url=ready["url"], port=ready["port"], admin_token=admin_token,
                            process=proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=START_TIMEOUT_S)
            except sp.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def await_ready(proc: sp.Popen) -> dict:
    """Read the child's stdout until its ready line (a reader thread enforces the timeout)."""
    found: dict = {}

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(b"{"):
                found.update(orjson.loads(line))
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(START_TIMEOUT_S)
    if not found.get("ready"):
        proc.kill()
        raise RuntimeError(f"server subprocess did not become ready (exit {proc.poll()})")
    return found
