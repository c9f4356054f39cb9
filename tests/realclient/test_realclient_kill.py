"""``kill -9`` of a client subprocess mid-upload: the restarted client finishes.

The client talks to the server through the bench's link proxy with a
bandwidth toxic, so a photo upload takes seconds and the test can kill the
client once the server holds part of the file (polled, never slept for).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from realclient_helpers import WAIT_S, web

from bench.link.proxy import ProxyServerThread
from bench.trace import TraceReader
from reference_client.client.config import UPLOAD_CHUNK_BYTES
from reference_server.testing import running_server

PHOTO_BYTES = 1_000_000
CHUNK = UPLOAD_CHUNK_BYTES
# Upstream KB/s while the client is to be killed: the photo takes ~5 s.
SLOW_KBPS = 200


def _client(srv_url: str, token: str, store: Path, trace: Path, script: Path,
            log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "reference_client.client", "--server", srv_url,
           f"--token={token}", "--device", "w1", "--store", str(store), "--trace", str(trace),
           "--time-scale", "60", "--script", str(script)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log.open("ab"))


def _so_far(path: Path) -> list[dict]:
    """Events of a trace still being written (complete lines only)."""
    if not path.exists():
        return []
    lines = path.read_text().split("\n")[:-1]
    return [json.loads(line) for line in lines if line.strip()]


def _poll(what: str, fn, proc: subprocess.Popen | None = None, timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            log = Path(proc.args[proc.args.index("--store") + 1]).parent / "client.log"
            raise AssertionError(f"client exited ({proc.returncode}) while waiting for {what}: "
                                 f"{log.read_text()[-2000:] if log.exists() else ''}")
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_photo_upload_resumes_after_kill_9(tmp_path):
    server_trace = tmp_path / "server.jsonl"
    with running_server(trace=str(server_trace)) as srv, ProxyServerThread() as proxy:
        token = srv.provision("w1")
        up = srv.url.removeprefix("http://")
        r = httpx.post(proxy.url + "/proxies",
                       json={"name": "w1", "listen": "127.0.0.1:0", "upstream": up})
        link_url = "http://" + r.json()["listen"]
        toxic = httpx.post(proxy.url + "/proxies/w1/toxics", json={
            "type": "bandwidth", "stream": "upstream", "attributes": {"rate": SLOW_KBPS}})
        assert toxic.status_code == 200, toxic.text
        store, trace, log = tmp_path / "store", tmp_path / "w1.jsonl", tmp_path / "client.log"
        script = tmp_path / "day.jsonl"
        script.write_text("\n".join(json.dumps(a) for a in [
            {"do": "link", "class": "wifi"}, {"do": "app", "state": "opened"},
            {"do": "edit", "record": "rep-1", "kind": "photo", "bytes": PHOTO_BYTES}]) + "\n")
        auth = srv.auth(token)

        def offset() -> int:
            r = httpx.get(srv.url + "/v1/files/w1-c1/upload", headers=auth)
            return r.json()["offset"] if r.status_code == 200 else 0

        proc = _client(link_url, token, store, trace, script, log)
        try:
            cut = _poll("part of the photo on the server",
                        lambda: (n := offset()) >= CHUNK and n, proc)
            proc.send_signal(signal.SIGKILL)
            proc.wait(WAIT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert CHUNK <= cut < PHOTO_BYTES, "the upload finished before the kill"
        assert offset() < PHOTO_BYTES  # and nothing more arrived after it
        assert not [e for e in _so_far(trace) if e["ev"] == "ack"]  # may end torn
        photo = store / "photos" / "f_w1-c1"
        sha = hashlib.sha256(photo.read_bytes()).hexdigest()

        # Restart on the same store, on a fast link, with a script that only reports
        # the link and opens the app: the photo edit must come from the store.
        httpx.delete(proxy.url + "/proxies/w1/toxics/bandwidth_upstream")
        script.write_text(json.dumps({"do": "link", "class": "wifi"}) + "\n"
                          + json.dumps({"do": "app", "state": "opened"}) + "\n")
        proc = _client(link_url, token, store, trace, script, log)
        try:
            job = _poll("the photo change on the server", lambda: next(
                (r for r in web(srv, "GET", "/v1/web/jobs")["records"]
                 if r["id"] == "rep-1" and r["files"]), None), proc)
            _poll("the ack in the client trace", lambda: any(
                e["ev"] == "ack" for e in _so_far(trace)), proc)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(WAIT_S) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
        assert job["files"] == [{"id": "w1-c1", "bytes": PHOTO_BYTES, "sha256": sha}]
        applied = [e for e in TraceReader(server_trace)
                   if e["ev"] == "srv_apply" and e["change"] == "w1-c1"]
        assert len(applied) == 1  # exactly once
        events = list(TraceReader(trace))
        # Resumed, not restarted. Bytes of the killed client's cut request may still
        # reach the server after the restart asked for its offset; the server then
        # refuses the stale offset (409) and the client asks again. Every such attempt
        # resumed at or past the cut, and each costs at most one PATCH beyond the
        # chunks themselves (only the restarted client writes file_end: the first was killed).
        retried = [e for e in events if e["ev"] == "file_end" and not e["ok"]]
        assert all(e["bytes"] >= cut for e in retried), retried
        metrics = httpx.get(srv.url + "/v1/metrics", headers=srv.auth(srv.dispatcher_token)).json()
        patches = metrics["routes"]["PATCH /v1/files/{file_id}/upload"]["count"]
        assert patches <= math.ceil(PHOTO_BYTES / CHUNK) + 2 + len(retried)
        edits = [e for e in events if e["ev"] == "edit"]
        assert [e["change"] for e in edits] == ["w1-c1"]  # not re-made on restart
        assert [e["change"] for e in events if e["ev"] == "ack"] == ["w1-c1"]
        assert os.path.getsize(photo) == PHOTO_BYTES


def test_kill_9_mid_sync_then_restart_applies_each_change_once(tmp_path):
    """The server applied the changes but its answer never arrived: the restarted
    device re-sends the same change ids and the server acks without applying again."""
    server_trace = tmp_path / "server.jsonl"
    with running_server(trace=str(server_trace)) as srv, ProxyServerThread() as proxy:
        token = srv.provision("w1")
        r = httpx.post(proxy.url + "/proxies", json={
            "name": "w1", "listen": "127.0.0.1:0", "upstream": srv.url.removeprefix("http://")})
        link_url = "http://" + r.json()["listen"]
        # Answers take 60 s to come back: the client is killed long before.
        toxic = httpx.post(proxy.url + "/proxies/w1/toxics", json={
            "type": "latency", "stream": "downstream", "attributes": {"latency": 60_000}})
        assert toxic.status_code == 200, toxic.text
        store, trace, log = tmp_path / "store", tmp_path / "w1.jsonl", tmp_path / "client.log"
        script = tmp_path / "day.jsonl"
        script.write_text("\n".join(json.dumps(a) for a in [
            {"do": "link", "class": "offline"}, {"do": "opened"},
            {"do": "edit", "record": "r1", "kind": "text", "fields": {"a": 1}},
            {"do": "edit", "record": "r1", "kind": "status", "status": "started"},
            {"do": "link", "class": "wifi"}]) + "\n")

        def applied() -> list[str]:
            return [e["change"] for e in _so_far(server_trace) if e["ev"] == "srv_apply"]

        proc = _client(link_url, token, store, trace, script, log)
        try:
            _poll("the server applying both changes", lambda: len(applied()) == 2, proc)
            proc.send_signal(signal.SIGKILL)
            proc.wait(WAIT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert not [e for e in _so_far(trace) if e["ev"] == "ack"]  # may end torn

        httpx.delete(proxy.url + "/proxies/w1/toxics/latency_downstream")
        script.write_text(json.dumps({"do": "link", "class": "wifi"}) + "\n"
                          + json.dumps({"do": "opened"}) + "\n")
        proc = _client(link_url, token, store, trace, script, log)
        try:
            _poll("both acks in the client trace", lambda: len(
                [e for e in _so_far(trace) if e["ev"] == "ack"]) == 2, proc)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(WAIT_S) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
        assert applied() == ["w1-c1", "w1-c2"]  # each exactly once
        assert web(srv, "GET", "/v1/web/jobs/r1")["version"] == 2
        events = list(TraceReader(trace))
        assert [e["change"] for e in events if e["ev"] == "edit"] == ["w1-c1", "w1-c2"]
        assert [e["n"] for e in events if e["ev"] == "unsent"][-1] == 0
