"""Fuzz the proxy's HTTP API: every request is answered, none with a 5xx, none by a dropped connection.

Hypothesis sends sequences of requests (any method, the API's paths with good,
missing and odd names, JSON bodies built from the API's own field names with
any JSON value, raw bytes) over one keep-alive connection to the bench's
server. Each must get an answer below 500, except upstream's documented 500
for a listen address that cannot be bound, and the same connection must
still answer ``GET /version`` afterwards. Listen addresses are IP literals or
malformed strings only, so the fuzz never makes a DNS query. Bounded:
``EXAMPLES`` sequences of at most four requests.
"""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.link.proxy import ProxyServerThread
from bench.link.proxy.toxics import TOXICS
from bench.link.testing import EchoServer

EXAMPLES = 150
ATTRIBUTES = sorted({f.name for cls in TOXICS.values() for f in dataclasses.fields(cls)})

names = st.sampled_from(["fz", "fz2", "none", "", ".", "..", "a/b", "\x00", "é", "x" * 300])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**80, 2**80) | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=5)
addresses = st.sampled_from([
    "127.0.0.1:0", "[::1]:0", ":0", "127.0.0.1:65536", "127.0.0.1:\u00b2", "127.0.0.1:" + "9" * 5000,
    "127.0.0.1", "[::1", "1:1", "\x00:0", "", "a" * 70 + ".x:1", "127.0.0.1:-1", "[zz]:1",
]) | st.text(alphabet="0123456789:.[]\u00b2\x00 ", max_size=12)


@st.composite
def bodies(draw):
    kind = draw(st.sampled_from(["proxy", "toxic", "populate", "any", "raw", "empty"]))
    if kind == "proxy":
        obj = {k: draw(st.one_of(json_values, names)) for k in ("name", "upstream", "enabled")
               if draw(st.booleans())}
        if draw(st.booleans()):
            obj["listen"] = draw(addresses)
        if draw(st.booleans()):
            obj["upstream"] = draw(addresses)
        return json.dumps(obj).encode()
    if kind == "toxic":
        obj = {"type": draw(st.sampled_from([*sorted(TOXICS), "nope"]) | json_values),
               "stream": draw(st.sampled_from(["upstream", "downstream", "up"]) | json_values),
               "toxicity": draw(st.floats() | json_values),
               "attributes": draw(st.dictionaries(st.sampled_from(ATTRIBUTES), json_values, max_size=3)
                                  | json_values)}
        obj = {k: v for k, v in obj.items() if draw(st.booleans())}
        return json.dumps(obj).encode()
    if kind == "populate":
        return json.dumps(draw(st.lists(st.fixed_dictionaries(
            {"name": names, "upstream": addresses, "listen": addresses}), max_size=3))).encode()
    if kind == "any":
        return json.dumps(draw(json_values)).encode()
    if kind == "raw":
        return draw(st.binary(max_size=40))
    return b""


@st.composite
def requests(draw):
    method = draw(st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"]))
    p, t = quote(draw(names), safe=""), quote(draw(st.sampled_from(["t", "latency_downstream", "", "é"])))
    path = draw(st.sampled_from(["/version", "/metrics", "/reset", "/populate", "/proxies",
                                 f"/proxies/{p}", f"/proxies/{p}/toxics", f"/proxies/{p}/toxics/{t}",
                                 f"/proxies/{p}/x", "/", "/nope", "/proxies//toxics"]))
    return method, path, draw(bodies())


@pytest.fixture(scope="module")
def server():
    with ProxyServerThread(seed=5) as srv, EchoServer():
        yield srv


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(requests(), min_size=1, max_size=4))
def test_every_request_is_answered_below_500(server, reqs):
    with httpx.Client(base_url=server.url, timeout=10) as c:
        c.post("/proxies", json={"name": "fz", "upstream": "127.0.0.1:9", "listen": "127.0.0.1:0"})
        try:
            for method, path, body in reqs:
                r = c.request(method, path, content=body,
                              headers={"Content-Type": "application/json"})
                if method == "HEAD":  # answered as GET would be, without the body
                    assert r.status_code < 500 and r.content == b"", (path, r.status_code)
                    continue
                if r.status_code >= 500:
                    err = r.json().get("error", "")
                    # Upstream's one 500: "A listen port that cannot be bound".
                    assert r.status_code == 500 and err.startswith("listen tcp"), \
                        (method, path, body[:200], r.status_code, r.text[:300])
                if r.status_code >= 400:
                    assert "\n" not in r.json()["error"], r.text[:300]
            assert c.get("/version").status_code == 200  # the connection still works
        finally:
            for name in list(c.get("/proxies").json()):
                c.delete(f"/proxies/{quote(name, safe='')}")
