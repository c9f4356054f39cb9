"""``syncbench link`` and ``syncbench toxiproxy serve``."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import httpx

from bench.cli import main
from bench.link.profiles import profiles


def test_link_profiles_table(capsys):
    assert main(["link", "profiles"]) == 0
    out = capsys.readouterr().out
    for name in profiles():
        assert any(line.split()[0] == name for line in out.splitlines()[1:]), name


def test_link_profiles_json(capsys):
    assert main(["link", "profiles", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["gprs"]["down_kbps"] == 50 and data["gprs"]["slow"] is True
    assert data["wifi"]["max_time_scale"] == 1 and data["offline"]["max_time_scale"] is None


def test_link_mobility(capsys):
    assert main(["link", "mobility", "rural", "--seed", "3", "--hours", "2", "--json"]) == 0
    steps = json.loads(capsys.readouterr().out)
    assert steps[0] == {"t": 0, "profile": "edge"} and steps[-1]["t"] < 7200
    assert main(["link", "mobility", "urban", "--seed", "3", "--time-scale", "60"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("syncbench link: error: profile ") and "K=60" in err and "\n" not in err
    assert main(["link", "mobility", "mars", "--seed", "1"]) == 2


def _serve(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench", "toxiproxy", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_toxiproxy_serve():
    proc = _serve("--port", "0", "--seed", "9")
    try:
        line = proc.stdout.readline()
        assert line.startswith("syncbench toxiproxy: API on http://127.0.0.1:") and "(seed 9)" in line
        url = line.split()[4]
        assert httpx.get(f"{url}/version").json()["version"] == "2.12.0"
    finally:
        proc.terminate()
        proc.wait(10)


def test_toxiproxy_serve_port_taken():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = _serve("--port", str(taken.getsockname()[1]))
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert err.startswith("syncbench toxiproxy: error: cannot listen on 127.0.0.1:") and err.count("\n") == 1


def test_toxiproxy_serve_port_out_of_range():
    proc = _serve("--port", "99999")
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert err == "syncbench toxiproxy: error: --port must be 0..65535, got 99999\n"


def test_link_apply(capsys):
    from bench.link.client import LinkClient
    from bench.link.proxy import ProxyServerThread

    with ProxyServerThread(seed=1) as srv, LinkClient(srv.url) as client:
        client.create_proxy("phone", "127.0.0.1:9")
        assert main(["link", "apply", "phone", "edge", "--url", srv.url, "--time-scale", "10"]) == 0
        assert capsys.readouterr().out == "phone: edge (edge) at K=10\n"
        toxics = {t["name"]: t["attributes"] for t in client.toxics("phone")}
        assert toxics["link_latency_downstream"] == {"latency": 42.0, "jitter": 0.0}
        # A new connection's first request waits a handshake round trip (84 ms at K = 10).
        assert toxics["link_latency_upstream"] == {"latency": 42.0, "jitter": 0.0, "handshake": 84.0}
        assert main(["link", "apply", "nobody", "edge", "--url", srv.url]) == 2
        assert "proxy 'nobody': proxy not found" in capsys.readouterr().err
        assert main(["link", "apply", "phone", "wifi", "--url", srv.url, "--time-scale", "60"]) == 2
        assert main(["link", "apply", "phone", "6g", "--url", srv.url]) == 2
        assert "unknown link profile '6g'" in capsys.readouterr().err
