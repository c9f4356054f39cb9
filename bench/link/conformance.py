"""A conformance suite for the Toxiproxy HTTP API, runnable against any server.

Theory of operation: each ``check_*`` function takes an ``httpx.Client`` whose
``base_url`` is a Toxiproxy server and the ``host:port`` of some TCP server to
use as upstream, exercises one row of the endpoint table of
the Toxiproxy 2.x API with its error cases, and cleans up what it created.
Point :func:`run` at a real ``toxiproxy-server`` to see where it and the
bench's server differ::

    python -c "import httpx; from bench.link.conformance import run; \\
               print(run(httpx.Client(base_url='http://127.0.0.1:8474'), '127.0.0.1:22'))"

Extensions of the bench's server (fractional ``rate``, ``/metrics``) are not
checked here; tests/link checks them.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

Check = Callable[[httpx.Client, str], None]
CHECKS: dict[str, Check] = {}
_names = itertools.count(1)


def check(fn: Check) -> Check:
    CHECKS[fn.__name__.removeprefix("check_")] = fn
    return fn


def _name(tag: str) -> str:
    return f"conformance_{tag}_{next(_names)}"


def expect(resp: httpx.Response, status: int, error: str | None = None) -> object:
    """Assert the status (and error message prefix); return the decoded JSON or None."""
    where = f"{resp.request.method} {resp.request.url.path}"
    assert resp.status_code == status, f"{where}: expected {status}, got {resp.status_code} {resp.text!r}"
    if error is not None:
        body = resp.json()
        assert body.get("status") == status, f"{where}: error body status {body!r}"
        assert str(body.get("error", "")).startswith(error), f"{where}: expected error {error!r}, got {body!r}"
    return resp.json() if resp.content else None


@contextmanager
def proxy(api: httpx.Client, upstream: str, **extra: object) -> Iterator[dict]:
    name = _name("p")
    body = expect(api.post("/proxies", json={"name": name, "upstream": upstream,
                                             "listen": "127.0.0.1:0", **extra}), 201)
    try:
        yield body
    finally:
        api.delete(f"/proxies/{name}")


def port_of(listen: str) -> int:
    return int(listen.rpartition(":")[2])


def refuses(listen: str) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port_of(listen)), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


PROXY_KEYS = {"name", "listen", "upstream", "enabled", "toxics"}
TOXIC_KEYS = {"name", "type", "stream", "toxicity", "attributes"}


@check
def check_version(api: httpx.Client, upstream: str) -> None:
    body = expect(api.get("/version"), 200)
    assert isinstance(body, dict) and isinstance(body.get("version"), str), body


@check
def check_create_proxy(api: httpx.Client, upstream: str) -> None:
    with proxy(api, upstream) as p:
        assert PROXY_KEYS <= set(p), p
        assert p["enabled"] is True and p["toxics"] == [] and p["upstream"] == upstream
        assert port_of(p["listen"]) != 0, "listen must report the port actually bound"
        expect(api.post("/proxies", json={"name": p["name"], "upstream": upstream}), 409,
               "proxy already exists")
        listed = expect(api.get("/proxies"), 200)
        assert listed[p["name"]]["listen"] == p["listen"]
    expect(api.post("/proxies", json={"upstream": upstream}), 400, "missing required field: name")
    expect(api.post("/proxies", json={"name": _name("x")}), 400, "missing required field: upstream")
    expect(api.post("/proxies", content=b"{not json"), 400, "bad request body")
    # Key names match case-insensitively; unknown keys are ignored; enabled may be false.
    name = _name("case")
    body = expect(api.post("/proxies", json={"Name": name, "UPSTREAM": upstream, "Listen": "127.0.0.1:0",
                                             "Enabled": False, "colour": "red"}), 201)
    try:
        assert body["name"] == name and body["enabled"] is False
    finally:
        expect(api.delete(f"/proxies/{name}"), 204)


@check
def check_bind_error(api: httpx.Client, upstream: str) -> None:
    with proxy(api, upstream) as p:
        expect(api.post("/proxies", json={"name": _name("dup"), "upstream": upstream,
                                          "listen": p["listen"]}), 500)


@check
def check_get_update_delete_proxy(api: httpx.Client, upstream: str) -> None:
    with proxy(api, upstream) as p:
        name = p["name"]
        assert expect(api.get(f"/proxies/{name}"), 200)["listen"] == p["listen"]
        off = expect(api.post(f"/proxies/{name}", json={"enabled": False}), 200)
        assert off["enabled"] is False and refuses(p["listen"])
        on = expect(api.patch(f"/proxies/{name}", json={"enabled": True}), 200)
        assert on["enabled"] is True and on["listen"] == p["listen"]
        expect(api.delete(f"/proxies/{name}"), 204)
        expect(api.get(f"/proxies/{name}"), 404, "proxy not found")
    expect(api.post(f"/proxies/{_name('none')}", json={"enabled": False}), 404, "proxy not found")
    expect(api.delete(f"/proxies/{_name('none')}"), 404, "proxy not found")


@check
def check_populate(api: httpx.Client, upstream: str) -> None:
    a, b = _name("pop"), _name("pop")
    try:
        body = expect(api.post("/populate", json=[{"name": a, "upstream": upstream, "listen": "127.0.0.1:0"}]), 201)
        first = body["proxies"][0]
        assert first["name"] == a and port_of(first["listen"]) != 0
        expect(api.post(f"/proxies/{a}/toxics", json={"type": "latency", "attributes": {"latency": 1}}), 200)
        again = expect(api.post("/populate", json=[
            {"name": a, "upstream": upstream, "listen": first["listen"]},
            {"name": b, "upstream": upstream, "listen": "127.0.0.1:0"}]), 201)
        assert {p["name"] for p in again["proxies"]} == {a, b}
        kept = expect(api.get(f"/proxies/{a}"), 200)
        assert kept["listen"] == first["listen"] and len(kept["toxics"]) == 1, "unchanged proxy was replaced"
        expect(api.post("/populate", json=[{"name": _name("pop")}]), 400,
               "missing required field: upstream at proxy 1")
        expect(api.post("/populate", json=[{"name": _name("pop"), "upstream": upstream},
                                           {"upstream": upstream}]), 400,
               "missing required field: name at proxy 2")
    finally:
        api.delete(f"/proxies/{a}")
        api.delete(f"/proxies/{b}")


@check
def check_reset(api: httpx.Client, upstream: str) -> None:
    with proxy(api, upstream) as p:
        name = p["name"]
        expect(api.post(f"/proxies/{name}/toxics", json={"type": "latency"}), 200)
        expect(api.post(f"/proxies/{name}", json={"enabled": False}), 200)
        expect(api.post("/reset"), 204)
        after = expect(api.get(f"/proxies/{name}"), 200)
        assert after["enabled"] is True and after["toxics"] == []


@check
def check_create_toxic(api: httpx.Client, upstream: str) -> None:
    with proxy(api, upstream) as p:
        base = f"/proxies/{p['name']}/toxics"
        t = expect(api.post(base, json={"type": "latency", "attributes": {"latency": 5}}), 200)
        assert TOXIC_KEYS <= set(t), t
        assert (t["name"], t["stream"], t["toxicity"]) == ("latency_downstream", "downstream", 1.0)
        assert t["attributes"]["latency"] == 5
        expect(api.post(base, json={"type": "latency", "name": "x", "stream": "upstream",
                                    "toxicity": 0.5}), 200)
        # A name is unique across both streams.
        expect(api.post(base, json={"type": "latency", "name": "x", "stream": "downstream"}), 409,
               "toxic already exists")
        expect(api.post(base, json={"type": "no_such_toxic"}), 400, "invalid toxic type")
        expect(api.post(base, json={"attributes": {}}), 400, "invalid toxic type")
        expect(api.post(base, json={"type": "latency", "name": "y", "stream": "sideways"}), 400,
               "stream was invalid, can be either upstream or downstream")
        expect(api.post(base, json={"type": "latency", "name": "z", "attributes": {"latency": "5"}}),
               400, "bad request body")
        expect(api.post(base, json={"type": "limit_data", "name": "z", "attributes": {"bytes": 1.5}}),
               400, "bad request body")
        expect(api.post(base, json={"type": "latency", "name": "w", "stream": "upstream"}), 200)
        # Upstream lists the upstream stream's toxics first, then downstream's,
        # each in creation order (not the order of creation across streams).
        listed = expect(api.get(base), 200)
        assert [t["name"] for t in listed] == ["x", "w", "latency_downstream"], listed
        shown = expect(api.get(f"/proxies/{p['name']}"), 200)["toxics"]
        assert [t["name"] for t in shown] == ["x", "w", "latency_downstream"], shown
    expect(api.post(f"/proxies/{_name('none')}/toxics", json={"type": "latency"}), 404, "proxy not found")
    expect(api.get(f"/proxies/{_name('none')}/toxics"), 404, "proxy not found")


@check
def check_toxic_get_update_delete(api: httpx.Client, upstream: str) -> None:
    with proxy(api, upstream) as p:
        base = f"/proxies/{p['name']}/toxics"
        expect(api.post(base, json={"type": "latency", "name": "lat",
                                    "attributes": {"latency": 10, "jitter": 2}}), 200)
        assert expect(api.get(f"{base}/lat"), 200)["attributes"] == {"latency": 10, "jitter": 2}
        t = expect(api.post(f"{base}/lat", json={"attributes": {"latency": 20}}), 200)
        assert t["attributes"] == {"latency": 20, "jitter": 2}, "a partial update keeps other attributes"
        t = expect(api.patch(f"{base}/lat", json={"toxicity": 0.25}), 200)
        assert t["toxicity"] == 0.25 and t["attributes"]["latency"] == 20
        expect(api.delete(f"{base}/lat"), 204)
        expect(api.get(f"{base}/lat"), 404, "toxic not found")
        expect(api.post(f"{base}/lat", json={"toxicity": 1}), 404, "toxic not found")
        expect(api.delete(f"{base}/lat"), 404, "toxic not found")


@check
def check_wrong_method(api: httpx.Client, upstream: str) -> None:
    # A known path with a method it does not answer: 405, whether or not the
    # named proxy exists (the route matches before the handler looks it up).
    for method, path in (("DELETE", "/version"), ("GET", "/reset"), ("GET", "/populate"),
                         ("PUT", "/proxies"), ("PUT", f"/proxies/{_name('none')}"),
                         ("DELETE", f"/proxies/{_name('none')}/toxics"),
                         ("PUT", f"/proxies/{_name('none')}/toxics/t")):
        resp = api.request(method, path)
        assert resp.status_code == 405, f"{method} {path}: expected 405, got {resp.status_code}"


@check
def check_request_id(api: httpx.Client, upstream: str) -> None:
    seen = set()
    for resp in (api.get("/version"), api.get("/version"), api.get(f"/proxies/{_name('none')}"),
                 api.post("/proxies", content=b"{")):
        rid = resp.headers.get("x-toxiproxy-request-id")
        assert rid, f"{resp.request.method} {resp.request.url.path}: no X-Toxiproxy-Request-Id"
        seen.add(rid)
    assert len(seen) == 4, f"request ids repeat: {sorted(seen)}"


@check
def check_browsers_refused(api: httpx.Client, upstream: str) -> None:
    # A web page must not reconfigure a developer's proxy.
    ua = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"}
    resp = api.post("/proxies", headers=ua, json={"name": _name("web"), "upstream": upstream})
    assert resp.status_code == 403, f"browser POST /proxies: expected 403, got {resp.status_code}"
    assert api.get("/version", headers=ua).status_code == 403


def run(api: httpx.Client, upstream: str) -> dict[str, str]:
    """Run every check; return ``{check: failure message}`` for the ones that failed."""
    failures = {}
    for name, fn in CHECKS.items():
        try:
            fn(api, upstream)
        except AssertionError as exc:
            failures[name] = str(exc)
    return failures
