"""The HTTP API of the proxy server: routes, JSON parsing, answers.

Theory of operation: :func:`handle` takes a method, a path and a body and
returns ``(status, payload)``: a JSON-able value, None for an empty answer, or
``str`` for text. Bodies are checked the way upstream's Go JSON decoder checks
them: keys match case-insensitively, unknown keys are ignored, a field of the
wrong type is ``400 bad request body: ...``. Table of routes
(the Toxiproxy 2.x HTTP API)::

    GET  /version                         GET /metrics (extension)
    GET  /proxies        POST /proxies    POST /populate    POST /reset
    GET|POST|PATCH|DELETE /proxies/{p}
    GET|POST              /proxies/{p}/toxics
    GET|POST|PATCH|DELETE /proxies/{p}/toxics/{t}
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from bench.link.proxy import metrics
from bench.link.proxy.errors import (
    INVALID_STREAM,
    INVALID_TOXIC_TYPE,
    ApiError,
    bad_body,
    missing,
)
from bench.link.proxy.proxy import STREAMS
from bench.link.proxy.registry import Registry, check_addresses
from bench.link.proxy.toxics import InvalidAttribute, settings_class

# The upstream release whose API this server answers to (spec: "v2.12.0").
VERSION = "2.12.0"

# (status, payload) or (status, payload, extra headers).
Answer = tuple[int, Any] | tuple[int, Any, list[tuple[str, str]]]


def _parse(body: bytes, *, want: type = dict) -> Any:
    if not body.strip():
        return {} if want is dict else []
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_body(f"invalid JSON ({exc})") from None
    if not isinstance(value, want):
        raise bad_body(f"expected a JSON {'object' if want is dict else 'array'}")
    return value


def _fold(obj: Any, where: str = "body") -> dict[str, Any]:
    """Lower-case the keys of a JSON object (Go's decoder matches them case-insensitively)."""
    if not isinstance(obj, dict):
        raise bad_body(f"{where} must be a JSON object")
    return {str(k).lower(): v for k, v in obj.items()}


def _opt(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], label: str) -> Any:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise bad_body(f"field {key!r} must be {label}, got {json.dumps(value)}")
    return value


def _toxicity(obj: dict[str, Any]) -> float | None:
    value = _opt(obj, "toxicity", (int, float), "a number")
    if value is not None and not 0 <= value <= 1:
        raise bad_body(f"field 'toxicity' must be between 0 and 1, got {value}")
    return None if value is None else float(value)


def _proxy_spec(raw: Any, where: str = "body") -> dict[str, Any]:
    obj = _fold(raw, where)
    spec = {
        "name": _opt(obj, "name", str, "a string"),
        "upstream": _opt(obj, "upstream", str, "a string"),
        "listen": _opt(obj, "listen", str, "a string"),
        "enabled": _opt(obj, "enabled", bool, "a boolean"),
    }
    for field in ("name", "upstream"):
        if not spec[field]:
            raise missing(field)
    if spec["enabled"] is None:
        spec["enabled"] = True
    check_addresses(spec)
    return spec


# The methods each path shape answers; any other is 405 with ``Allow``, before
# the proxy or toxic is looked up (gorilla/mux matches the route first).
_METHODS: dict[tuple[str, int], tuple[str, ...]] = {
    ("version", 1): ("GET",),
    ("metrics", 1): ("GET",),
    ("reset", 1): ("POST",),
    ("populate", 1): ("POST",),
    ("proxies", 1): ("GET", "POST"),
    ("proxies", 2): ("GET", "POST", "PATCH", "DELETE"),
    ("proxies", 3): ("GET", "POST"),
    ("proxies", 4): ("GET", "POST", "PATCH", "DELETE"),
}


def allowed(parts: list[str]) -> tuple[str, ...] | None:
    """The methods of a known path, None for an unknown one."""
    head, n = (parts[0] if parts else ""), len(parts)
    if head == "proxies" and n >= 3 and parts[2] != "toxics":
        return None
    return _METHODS.get((head, n))


async def handle(reg: Registry, method: str, target: str, body: bytes) -> Answer:
    """Answer one request; API errors become their JSON error bodies.

    Anything else raised is a 500 naming it (upstream's "Error did not include
    status code"), so that no request is ever answered by a dropped connection.
    """
    path = target.split("?", 1)[0]
    parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
    methods = allowed(parts)
    if methods is None:
        return 404, ApiError(404, "not found").body()
    if method not in methods:
        return 405, ApiError(405, f"method {method} not allowed on {path} "
                                  f"(allowed: {', '.join(methods)})").body(), \
            [("allow", ", ".join(methods + (("HEAD",) if "GET" in methods else ())))]
    try:
        async with reg.lock:
            return await _route(reg, method, parts, body)
    except ApiError as err:
        return err.status, err.body()
    except Exception as exc:  # noqa: BLE001 - answered, never a dropped connection
        return 500, {"error": f"{type(exc).__name__}: {exc}", "status": 500}


async def _route(reg: Registry, method: str, parts: list[str], body: bytes) -> Answer:
    n = len(parts)
    head = parts[0]
    if head == "version":
        return 200, {"version": VERSION, "server": "syncbench"}
    if head == "metrics":
        return 200, metrics.render(reg)
    if head == "reset":
        await reg.reset()
        return 204, None
    if head == "populate":
        return await _populate(reg, body)
    if n == 1:
        if method == "GET":
            return 200, {name: p.to_json() for name, p in reg.proxies.items()}
        spec = _proxy_spec(_parse(body))
        proxy = await reg.create(**spec)
        return 201, proxy.to_json()
    if n == 2:
        if method == "GET":
            return 200, reg.get(parts[1]).to_json()
        if method == "DELETE":
            await reg.delete(parts[1])
            return 204, None
        proxy = reg.get(parts[1])
        obj = _fold(_parse(body))
        await proxy.update(listen=_opt(obj, "listen", str, "a string"),
                           upstream=_opt(obj, "upstream", str, "a string"),
                           enabled=_opt(obj, "enabled", bool, "a boolean"))
        return 200, proxy.to_json()
    proxy = reg.get(parts[1])
    if n == 3:
        if method == "GET":
            return 200, [t.to_json() for t in proxy.toxic_list()]
        return 200, _create_toxic(reg, proxy, _fold(_parse(body))).to_json()
    toxic = reg.toxic(proxy, parts[3])
    if method == "GET":
        return 200, toxic.to_json()
    if method == "DELETE":
        proxy.remove_toxic(toxic)
        return 204, None
    obj = _fold(_parse(body))
    try:
        settings = type(toxic.settings).from_attributes(obj.get("attributes"), toxic.settings)
    except InvalidAttribute as exc:
        raise bad_body(str(exc)) from None
    proxy.update_toxic(toxic, settings, _toxicity(obj))
    return 200, toxic.to_json()


def _create_toxic(reg: Registry, proxy, obj: dict[str, Any]):
    type_name = obj.get("type")
    cls = settings_class(type_name) if isinstance(type_name, str) else None
    if cls is None:
        raise ApiError(400, INVALID_TOXIC_TYPE)
    stream = _opt(obj, "stream", str, "a string") or "downstream"
    if stream not in STREAMS:
        raise ApiError(400, INVALID_STREAM)
    name = _opt(obj, "name", str, "a string") or f"{type_name}_{stream}"
    toxicity = _toxicity(obj)
    try:
        settings = cls.from_attributes(obj.get("attributes"))
    except InvalidAttribute as exc:
        raise bad_body(str(exc)) from None
    return reg.add_toxic(proxy, name=name, type=type_name, stream=stream,
                         toxicity=1.0 if toxicity is None else toxicity, settings=settings)


async def _populate(reg: Registry, body: bytes) -> Answer:
    raw = _parse(body, want=(list, dict))
    if isinstance(raw, dict):  # also accept {"proxies": [...]}
        raw = _fold(raw).get("proxies")
        if not isinstance(raw, list):
            raise bad_body("expected a JSON array of proxies")
    try:
        # Every entry is checked before anything changes, as upstream does, and
        # its errors end in " at proxy N" as upstream's do.
        specs = []
        for i, item in enumerate(raw):
            try:
                spec = _proxy_spec(item, "proxy")
            except ApiError as err:
                raise ApiError(err.status, f"{err.message} at proxy {i + 1}") from None
            if any(s["name"] == spec["name"] for s in specs):
                raise bad_body(f"duplicate proxy name {spec['name']!r} at proxy {i + 1}")
            specs.append(spec)
        proxies = await reg.populate(specs)
    except ApiError as err:
        return err.status, {**err.body(), "proxies": []}
    return 201, {"proxies": [p.to_json() for p in proxies]}
