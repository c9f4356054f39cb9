"""The capture proxy for real: mitmproxy in this process, the bench's link proxy, the
reference server, all on loopback. What the app sends crosses the link; what it sees is
recorded once per flow, live; mitmproxy's own HAR export holds the same flows."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time

import httpx
import pytest
import websockets

from bench.capture.har import exchanges, read_exchanges
from bench.capture.live import CaptureThread, Route
from bench.capture.mapping import load_mapping
from bench.capture.translate import build_trace
from bench.link.client import LinkClient
from bench.link.proxy import ProxyServerThread
from reference_server.testing import running_server

pytestmark = pytest.mark.network
DELAY_MS = 150  # one way, on the server's answers: every exchange is at least this long


@pytest.fixture(scope="module")
def bench_setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("capture")
    with running_server() as srv, ProxyServerThread(seed=3) as proxy, LinkClient(proxy.url) as api:
        listen = api.create_proxy("phone", srv.url.removeprefix("http://"))["listen"]
        api.add_toxic("phone", "latency", name="slow", stream="downstream",
                      attributes={"latency": DELAY_MS, "jitter": 0})
        host, port = listen.rsplit(":", 1)
        token = srv.provision("w1", role="worker")
        cap = CaptureThread([Route(listen=("127.0.0.1", 0), upstream=srv.url,
                                   via=(host, int(port)))],
                            confdir=tmp / "mitmproxy", flows=tmp / "flows.jsonl",
                            mitmproxy_har=tmp / "mitmproxy.har")
        (addr,) = cap.start()
        base = f"http://{addr[0]}:{addr[1]}"
        epoch = time.time()
        head = {"Authorization": f"Bearer {token}"}
        web = {"Authorization": f"Bearer {srv.dispatcher_token}"}
        photo = b"p" * 300_000

        async def phone() -> None:
            async with websockets.connect(base.replace("http", "ws") + "/v1/push",
                                          additional_headers=head) as ws:
                httpx.post(srv.url + "/v1/web/jobs", headers=web,
                           json={"id": "job-1", "assignee": "w1", "fields": {"title": "t"}})
                await asyncio.wait_for(ws.recv(), 10)

        asyncio.run(phone())
        with httpx.Client(base_url=base, headers=head, timeout=30) as c:
            c.get("/v1/files/w1-c2/upload")
            c.patch("/v1/files/w1-c2/upload", content=photo,
                    headers={"Upload-Offset": "0", "Content-Type": "application/octet-stream"})
            c.post("/v1/files/w1-c2/finish",
                   json={"sha256": hashlib.sha256(photo).hexdigest(), "bytes": len(photo)})
            c.post("/v1/sync", json={"device": "w1", "cursor": None, "mode": "full", "changes": [
                {"change": "w1-c1", "record": "job-1", "kind": "status", "base_version": 1,
                 "fields": {"status": "started"}, "saved_at": time.time() - 0.5},
                {"change": "w1-c2", "record": "job-1", "kind": "photo", "base_version": 1,
                 "file": {"id": "w1-c2", "sha256": hashlib.sha256(photo).hexdigest(),
                          "bytes": len(photo)}, "saved_at": time.time() - 1}]})
            c.get("/v1/files/w1-c2")
        entries = cap.stop()
        yield {"entries": entries, "tmp": tmp, "epoch": epoch, "photo": len(photo)}


def test_every_flow_is_written_once_as_it_ends(bench_setup):
    entries, tmp = bench_setup["entries"], bench_setup["tmp"]
    lines = (tmp / "flows.jsonl").read_text().splitlines()
    assert len(lines) == len(entries) == 6
    urls = sorted(json.loads(ln)["request"]["url"].rsplit("/v1/", 1)[1] for ln in lines)
    assert urls == ["files/w1-c2", "files/w1-c2/finish", "files/w1-c2/upload",
                    "files/w1-c2/upload", "push", "sync"]
    assert {json.loads(ln)["_syncbench"]["listen"] for ln in lines} == {entries[0]["_syncbench"]["listen"]}


def test_the_flows_crossed_the_shaped_link(bench_setup):
    for x in exchanges(bench_setup["entries"]):
        if x.ws is None:
            assert x.t1 - x.t0 >= DELAY_MS / 1000 * 0.9, (x.path, x.t1 - x.t0)


def test_streamed_bodies_are_counted_and_the_push_frame_kept(bench_setup):
    xs = exchanges(bench_setup["entries"])
    up = next(x for x in xs if x.method == "PATCH")
    down = next(x for x in xs if x.method == "GET" and x.path == "/v1/files/w1-c2")
    assert up.req_bytes == down.resp_bytes == bench_setup["photo"]
    ws = next(x for x in xs if x.ws is not None)
    assert any('"push"' in text for _, mine, text in ws.ws if not mine)
    assert ws.ws_closed is not None


def test_the_trace_of_the_capture(bench_setup):
    trace = build_trace(exchanges(bench_setup["entries"]), load_mapping(None), policy="planado",
                        epoch=bench_setup["epoch"])
    kinds = [e["ev"] for e in trace[1:]]
    for kind in ("push_channel", "push", "file_start", "file_end", "sync_start", "ack",
                 "sync_end", "edit", "app"):
        assert kind in kinds, kind
    edits = {e["change"]: e for e in trace if e["ev"] == "edit"}
    assert edits["w1-c2"]["kind"] == "photo" and edits["w1-c2"]["bytes"] == bench_setup["photo"]
    files = [(e["ev"], e["dir"], e.get("ok")) for e in trace if e["ev"].startswith("file_")]
    assert files == [("file_start", "up", None), ("file_end", "up", True),
                     ("file_start", "down", None), ("file_end", "down", True)]


def test_mitmproxy_s_own_har_holds_the_same_flows(bench_setup):
    har = read_exchanges(bench_setup["tmp"] / "mitmproxy.har")
    live = exchanges(bench_setup["entries"])
    assert [(x.method, x.path, x.status) for x in har] == [(x.method, x.path, x.status)
                                                          for x in live]


def test_a_dead_link_is_a_failed_exchange_recorded(tmp_path):
    with running_server() as srv:
        cap = CaptureThread([Route(listen=("127.0.0.1", 0), upstream=srv.url,
                                   via=("127.0.0.1", 9))], confdir=tmp_path / "m")
        (addr,) = cap.start()
        r = httpx.post(f"http://{addr[0]}:{addr[1]}/v1/sync", json={"device": "w1"})
        entries = cap.stop()
    assert r.status_code == 502
    (x,) = exchanges(entries)
    assert not x.ok and x.status == 0 and "Connect call failed" in x.error


def _tls_server(tmp_path):
    """An HTTPS server on loopback with a self-signed certificate (the team's staging)."""
    import datetime
    import http.server
    import ssl
    import threading

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .sign(key, hashes.SHA256()))
    pem = tmp_path / "server.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length", 0)))
            body = b'{"acks": [], "records": [], "cursor": "c"}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pem)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def test_regular_mode_intercepts_https_with_its_ca_and_routes_each_host(tmp_path):
    """The phone's proxy setting: an HTTPS request through the capture, trusted with
    mitmproxy's CA, to a server with its own (self-signed) certificate; the server
    connection goes where ``via_for`` says (the link proxy of that host)."""
    srv = _tls_server(tmp_path)
    port = srv.server_address[1]
    asked = []

    async def via_for(address):
        asked.append(address)
        return ("127.0.0.1", port)  # the "link proxy" of localhost: straight through here

    cap = CaptureThread([Route(listen=("127.0.0.1", 0), mode="regular")],
                        confdir=tmp_path / "mitm", insecure_upstream=True, via_for=via_for)
    (addr,) = cap.start()
    try:
        ca = tmp_path / "mitm" / "mitmproxy-ca-cert.pem"
        import ssl

        trust = ssl.create_default_context(cafile=str(ca))
        with httpx.Client(proxy=f"http://{addr[0]}:{addr[1]}", verify=trust) as c:
            r = c.post(f"https://localhost:{port}/v1/sync", json={"device": "w9"})
    finally:
        entries = cap.stop()
        srv.shutdown()
    assert r.status_code == 200 and r.json()["cursor"] == "c"
    assert asked == [("localhost", port)]
    (x,) = [x for x in exchanges(entries) if x.method == "POST"]
    assert x.path == "/v1/sync" and x.host == "localhost" and x.json("req") == {"device": "w9"}
    trace = build_trace([x], load_mapping(None), policy="planado", epoch=x.t0)
    assert [e["ev"] for e in trace[1:]] == ["app", "sync_start", "sync_end"]
