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
    r = api.put("/proxies")
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST, HEAD"
    assert api.get("/reset").headers["allow"] == "POST"


BAD_ADDRESSES = [
    ("upstream", "127.0.0.1:\u00b2"),           # "²".isdigit() is true; int() refuses it
    ("upstream", "127.0.0.1:" + "9" * 5000),     # past int()'s digit limit
    ("upstream", "127.0.0.1:65536"),
    ("upstream", "127.0.0.1:-1"),
    ("upstream", "a" * 70 + ".example:80"),      # a DNS label past 63 characters
    ("upstream", "x" * 300 + ":80"),
    ("upstream", "[not-v6]:80"),
    ("upstream", "host name:80"),
    ("listen", "\u0000:0"),                     # NUL once reached bind(): 500
    ("listen", "127.0.0.1:\u0663"),            # an Arabic-Indic digit
]


@pytest.mark.parametrize("field,address", BAD_ADDRESSES, ids=range(len(BAD_ADDRESSES)))
def test_a_malformed_address_is_a_400_naming_it(api, echo, field, address):
    spec = {"name": "bad-address", "upstream": echo.address, "listen": "127.0.0.1:0",
            field: address}
    for path, payload in (("/proxies", spec), ("/populate", [spec])):
        r = api.post(path, json=payload)
        assert r.status_code == 400, (path, r.status_code, r.text[:200])
        err = r.json()["error"]
        assert err.startswith(f"bad request body: {field}") and len(err) < 300 and "\n" not in err
    assert "bad-address" not in api.get("/proxies").json()
    with conformance.proxy(api, echo.address) as p:
        r = api.post(f"/proxies/{p['name']}", json={field: address})
        assert r.status_code == 400, r.text[:200]
        assert api.get(f"/proxies/{p['name']}").json()[field] == p[field]


def test_good_addresses_are_taken(api, echo):
    port = echo.address.rpartition(":")[2]
    for upstream in (f"localhost:{port}", f"[::1]:{port}", f"my_service.internal:{port}",
                     f"{'a' * 63}.example:{port}"):
        with conformance.proxy(api, upstream) as p:
            assert p["upstream"] == upstream


def test_head_is_get_without_a_body(server, echo):
    # h11 once raised "Too much data for declared Content-Length" and dropped
    # the connection; the same keep-alive connection must answer after a HEAD.
    with httpx.Client(base_url=server.url, timeout=10) as c:
        head = c.head("/proxies")
        assert head.status_code == 200 and head.content == b""
        get = c.get("/proxies")
        assert int(head.headers["content-length"]) == len(get.content)
        assert c.head("/nope").status_code == 404
        assert c.head("/reset").status_code == 405
        assert c.get("/version").status_code == 200


def test_browsers_are_refused_unless_allowed(echo):
    ua = {"User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Safari/605.1.15"}
    with ProxyServerThread(seed=1) as strict, ProxyServerThread(seed=1, allow_browsers=True) as open_:
        r = httpx.post(strict.url + "/proxies", headers=ua,
                       json={"name": "web", "upstream": echo.address})
        assert r.status_code == 403 and r.json()["error"] == "User agent not allowed"
        assert r.headers["x-toxiproxy-request-id"]
        assert httpx.get(strict.url + "/proxies").json() == {}
        assert httpx.get(strict.url + "/version", headers={"User-Agent": "curl/8"}).status_code == 200
        r = httpx.post(open_.url + "/proxies", headers=ua, json={"name": "web", "upstream": echo.address,
                                                                 "listen": "127.0.0.1:0"})
        assert r.status_code == 201


def test_an_unexpected_error_is_a_500_not_a_dropped_connection(api, echo, monkeypatch):
    from bench.link.proxy import api as api_module

    def boom(*a, **k):
        raise RuntimeError("boom")
    monkeypatch.setattr(api_module, "_proxy_spec", boom)
    r = api.post("/proxies", json={"name": "x", "upstream": echo.address})
    assert r.status_code == 500 and r.json() == {"error": "RuntimeError: boom", "status": 500}


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
