"""API conformance of the bench's proxy server: raw HTTP (the shared suite) and toxiproxy-python."""

from __future__ import annotations

import httpx
import pytest
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from bench.link import conformance
from bench.link.proxy import ProxyServerThread
from bench.link.testing import EchoServer, connect, echo_time


@pytest.fixture(scope="module")
def server():
    with ProxyServerThread(seed=3) as srv:
        yield srv


@pytest.fixture(scope="module")
def echo():
    with EchoServer() as e:
        yield e


@pytest.fixture
def api(server):
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


@pytest.mark.parametrize("name", sorted(conformance.CHECKS))
def test_conformance(name, api, echo):
    conformance.CHECKS[name](api, echo.address)


def test_conformance_runner_reports_failures(api, echo):
    assert conformance.run(api, echo.address) == {}
    broken = httpx.Client(base_url=api.base_url, event_hooks={"response": [lambda r: r.read()]},
                          transport=httpx.MockTransport(lambda req: httpx.Response(418, json={})))
    assert set(conformance.run(broken, echo.address)) == set(conformance.CHECKS)


def test_unknown_route_and_method(api):
    assert api.get("/nope").status_code == 404
    assert api.put("/proxies").status_code == 405


def test_metrics_count_bytes(api, echo):
    with conformance.proxy(api, echo.address) as p:
        with connect(p["listen"]) as sock:
            echo_time(sock, b"m" * 5000)
        text = api.get("/metrics").text
    line = next(x for x in text.splitlines()
                if x.startswith("toxiproxy_proxy_sent_bytes_total") and 'direction="downstream"' in x
                and f'proxy="{p["name"]}"' in x)
    assert line.endswith(" 5000")
    assert "# TYPE syncbench_proxy_connections_total counter" in text


def test_fractional_rate_is_accepted(api, echo):
    with conformance.proxy(api, echo.address) as p:
        t = api.post(f"/proxies/{p['name']}/toxics",
                     json={"type": "bandwidth", "attributes": {"rate": 2.5}}).json()
        assert t["attributes"]["rate"] == 2.5


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e308", "9" * 400, "-1"])
def test_non_finite_or_huge_rate_is_refused(api, echo, raw):
    # json.loads takes NaN and Infinity literals; a NaN rate once stopped all traffic.
    with conformance.proxy(api, echo.address) as p:
        body = '{"type": "bandwidth", "attributes": {"rate": ' + raw + "}}"
        r = api.post(f"/proxies/{p['name']}/toxics", content=body,
                     headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
        err = r.json()["error"]
        assert "'rate'" in err and "\n" not in err and len(err) < 200
        assert api.get(f"/proxies/{p['name']}/toxics").json() == []


def test_toxicity_out_of_range(api, echo):
    with conformance.proxy(api, echo.address) as p:
        r = api.post(f"/proxies/{p['name']}/toxics", json={"type": "noop", "toxicity": 2})
        assert r.status_code == 400 and r.json()["error"].startswith("bad request body")


@pytest.fixture
def client(server):
    saved = APIConsumer.host, APIConsumer.port
    Toxiproxy().update_api_consumer("127.0.0.1", int(server.url.rpartition(":")[2]))
    yield Toxiproxy()
    APIConsumer.host, APIConsumer.port = saved


def test_python_client_every_call(client, echo):
    assert b"version" in client.version()
    proxy = client.create(upstream=echo.address, name="py_client")
    try:
        assert client.running() and "py_client" in client.proxies()
        assert proxy.listen.rpartition(":")[2] != "0"
        with pytest.raises(ProxyExists):
            client.create(upstream=echo.address, name="py_client")
        proxy.add_toxic(type="latency", attributes={"latency": 1})
        proxy.add_toxic(type="bandwidth", stream="upstream", name="bw", attributes={"rate": 100})
        assert set(proxy.toxics()) == {"latency_downstream", "bw"}
        assert proxy.get_toxic("bw").stream == "upstream"
        with pytest.raises(InvalidToxic):
            proxy.add_toxic(type="nonsense")
        with pytest.raises(ProxyExists):
            proxy.add_toxic(type="latency")
        proxy.destroy_toxic("bw")
        with pytest.raises(NotFound):
            proxy.destroy_toxic("bw")
        with proxy.down():
            assert client.get_proxy("py_client").enabled is False
        assert client.get_proxy("py_client").enabled is True
        assert client.reset()
        assert proxy.toxics() == {}
        populated = client.populate([{"name": "py_pop", "upstream": echo.address,
                                      "listen": "127.0.0.1:0"}])
        assert [p.name for p in populated] == ["py_pop"]
    finally:
        client.destroy_all()
    assert client.proxies() == {}
    with pytest.raises(NotFound):
        proxy.destroy()
