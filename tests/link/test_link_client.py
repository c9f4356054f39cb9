"""The client wrapper (what toxiproxy-python lacks) and server resolution."""

from __future__ import annotations

import stat
import sys
import threading

import pytest
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from bench.link.client import LinkClient, ToxiproxyServerError
from bench.link.proxy import ProxyServerThread
from bench.link.resolve import resolve_toxiproxy
from bench.link.testing import EchoServer, connect, recv_exactly


@pytest.fixture(scope="module")
def server():
    with ProxyServerThread(seed=8) as srv:
        yield srv


@pytest.fixture
def client(server):
    with LinkClient(server.url) as c:
        yield c
        for name in c.proxies():
            c.delete_proxy(name)


@pytest.fixture(scope="module")
def echo():
    with EchoServer() as e:
        yield e


def test_calls_toxiproxy_python_lacks(client, echo):
    assert client.version() == "2.12.0" and client.is_syncbench
    client.create_proxy("a", echo.address)
    client.add_toxic("a", "latency", attributes={"latency": 5, "jitter": 1})
    t = client.update_toxic("a", "latency_downstream", attributes={"latency": 9}, toxicity=0.5)
    assert t["attributes"] == {"latency": 9, "jitter": 1} and t["toxicity"] == 0.5
    assert client.disable("a")["enabled"] is False
    assert client.enable("a")["enabled"] is True
    out = client.populate([{"name": "a", "upstream": echo.address, "listen": "127.0.0.1:0"},
                           {"name": "b", "upstream": echo.address}])
    assert [p["name"] for p in out] == ["a", "b"] and len(client.toxics("a")) == 1
    assert "toxiproxy_proxy_sent_bytes_total" in client.metrics()
    assert set(client.toxiproxy.proxies()) == {"a", "b"}


def test_error_mapping(client, echo):
    listen = client.create_proxy("a", echo.address)["listen"]
    with pytest.raises(ProxyExists, match="proxy already exists"):
        client.create_proxy("a", echo.address)
    with pytest.raises(NotFound, match="toxic not found"):
        client.update_toxic("a", "nope", attributes={})
    with pytest.raises(InvalidToxic, match="invalid toxic type"):
        client.add_toxic("a", "nope")
    with pytest.raises(ToxiproxyServerError, match=r"POST /proxies: 500 listen tcp .*address already in use"):
        client.create_proxy("b", echo.address, listen=listen)
    with LinkClient("http://127.0.0.1:9") as dead, pytest.raises(ToxiproxyServerError, match="cannot reach"):
        dead.proxies()


def test_apply_profile_replaces_only_profile_toxics(client, echo):
    client.create_proxy("a", echo.address)
    client.add_toxic("a", "noop", name="mine")
    client.apply_profile("a", "gprs", 20)
    names = [t["name"] for t in client.toxics("a")]
    assert names == ["link_latency_upstream", "link_bandwidth_upstream",
                     "mine", "link_latency_downstream", "link_bandwidth_downstream"]
    client.apply_profile("a", "flaky", 10)
    toxics = {t["name"]: t for t in client.toxics("a")}
    assert [t["name"] for t in client.toxics("a")][:5] == names  # updated in place, order kept
    assert toxics["link_latency_downstream"]["attributes"] == {"latency": 50, "jitter": 12.5}
    assert toxics["link_reset_peer_downstream"]["toxicity"] == 0.1
    client.apply_profile("a", "offline")
    assert client.get_proxy("a")["enabled"] is False
    client.apply_profile("a", "blackhole")
    proxy = client.get_proxy("a")
    assert proxy["enabled"] is True
    assert [t["name"] for t in proxy["toxics"]] == ["link_timeout_upstream", "mine", "link_timeout_downstream"]
    client._ours = False  # as against a real toxiproxy-server: integer attributes
    client.apply_profile("a", "gprs", 20)
    toxics = {t["name"]: t for t in client.toxics("a")}
    assert toxics["link_latency_downstream"]["attributes"]["latency"] == 12
    assert toxics["link_bandwidth_upstream"]["attributes"]["rate"] == 50


def test_a_burst_the_next_profile_leaves_out_does_not_stay(client, echo):
    # An update merges over a toxic's attributes: a burst credit set for one
    # profile would live on under the next, at its rate. The toxic is re-added.
    client.create_proxy("a", echo.address)
    client.apply_profile("a", "3g", 60, base_rtt_ms=5.0)
    toxics = {t["name"]: t for t in client.toxics("a")}
    assert toxics["link_bandwidth_downstream"]["attributes"]["burst"] > 0
    client.apply_profile("a", "3g", 1, base_rtt_ms=5.0)
    toxics = {t["name"]: t for t in client.toxics("a")}
    assert toxics["link_bandwidth_downstream"]["attributes"] == {"rate": 780 / 8}


def test_switching_profiles_mid_transfer_loses_nothing(client, echo):
    listen = client.create_proxy("a", echo.address)["listen"]
    client.apply_profile("a", "3g", 50)
    payload = bytes(range(256)) * 2000  # 512 kB through 3G at K=50 (about 0.1 s each way)
    with connect(listen) as sock:
        got: list[bytes] = []
        reader = threading.Thread(target=lambda: got.append(recv_exactly(sock, len(payload))))
        reader.start()
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        for name in ("edge", "lte", "3g-fast", "gprs", "3g", "lte"):
            client.apply_profile("a", name, 30)
        sender.join(20)
        reader.join(20)
    assert got == [payload]


def test_resolve_prefers_the_environment():
    with resolve_toxiproxy(env={"TOXIPROXY_URL": "http://toxi:8474/"}, which=lambda _: None) as ep:
        assert (ep.url, ep.kind) == ("http://toxi:8474", "env")


def test_resolve_starts_our_server_with_the_seed():
    with resolve_toxiproxy(seed=5, env={}, which=lambda _: None) as ep:
        assert ep.kind == "builtin" and ep.seed == 5
        with LinkClient(ep.url) as c:
            assert c.is_syncbench


def test_resolve_runs_a_binary_on_path(tmp_path):
    # A stand-in for toxiproxy-server that takes upstream's flags (-host, -port).
    fake = tmp_path / "toxiproxy-server"
    fake.write_text(f"#!/bin/sh\nexec {sys.executable} -m bench toxiproxy serve --host \"$2\" --port \"$4\"\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    with resolve_toxiproxy(env={}, which=lambda _: str(fake)) as ep:
        assert ep.kind == "binary"
        with LinkClient(ep.url) as c:
            assert c.version() == "2.12.0"
