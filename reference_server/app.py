"""The HTTP/WebSocket adapter: Starlette routes over the sync core.

Theory of operation: :func:`create_app` builds a :class:`ServerState` from a
:class:`ServerConfig` and one Starlette app whose handlers authenticate,
validate, call the core and serialise with orjson; the file endpoints live in
``files_api.py``. No sync rule lives here. Every route but ``/v1/health``
needs a bearer token ("Every endpoint except health needs a valid token").

    /v1/sync ---------> validate.sync_request -> core.sync
    /v1/web/... ------> core.web_* -> hub.deliver (WebSocket /v1/push)
    /v1/files/... ----> files_api (BlobStore + store)
    /v1/admin/devices -> state.provision
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from reference_server import files_api, limits, validate
from reference_server.config import ServerConfig
from reference_server.core import forbid
from reference_server.errors import ApiError, bad
from reference_server.http_util import JSONResponse, endpoint, read_json
from reference_server.metrics import PROMETHEUS_CONTENT_TYPE
from reference_server.openapi import OPENAPI
from reference_server.state import ServerState

# How long a push waits for its socket's handshake to finish before the
# connection counts as dead (the handshake normally takes a millisecond).
PUSH_ACCEPT_TIMEOUT_S = 5.0
_OPENAPI_BYTES = orjson.dumps(OPENAPI)


async def health(state: ServerState, request: Request) -> Response:
    return JSONResponse({"ok": True})


async def openapi(state: ServerState, request: Request) -> Response:
    # Served without a token: it holds no data, and API tools fetch it bare.
    return Response(_OPENAPI_BYTES, media_type="application/json")


async def metrics(state: ServerState, request: Request) -> Response:
    p = state.tokens.from_header(request.headers.get("authorization"))
    forbid(p.role in limits.WEB_ROLES, "metrics")
    return JSONResponse(state.metrics.snapshot())


async def metrics_prometheus(state: ServerState, request: Request) -> Response:
    # The same counters as /v1/metrics in the text format Prometheus scrapes
    # (its scrape config takes a bearer token: authorization.credentials).
    p = state.tokens.from_header(request.headers.get("authorization"))
    forbid(p.role in limits.WEB_ROLES, "metrics")
    text = state.metrics.prometheus({"push_connections": (
        "Open /v1/push WebSocket connections on this instance.",
        state.hub.connection_count())})
    return Response(text, media_type=PROMETHEUS_CONTENT_TYPE)


async def sync(state: ServerState, request: Request) -> Response:
    p = state.tokens.from_header(request.headers.get("authorization"))
    req = validate.sync_request(await read_json(request))
    return JSONResponse(state.core.sync(p, req))


def _web(state: ServerState, request: Request):
    p = state.tokens.from_header(request.headers.get("authorization"))
    forbid(p.role in limits.WEB_ROLES, "the web application")
    return p


def _record_id(request: Request) -> str:
    return validate.ident(request.path_params["record_id"], "record_id")


def _body(v: Any, allowed: set[str], required: set[str]) -> dict:
    return validate.obj(v, None, frozenset(allowed), frozenset(required))


async def web_list(state: ServerState, request: Request) -> Response:
    p = _web(state, request)
    for k in request.query_params:
        if k != "assignee":
            raise bad(f"unknown query parameter {k!r}", k)
    assignee = request.query_params.get("assignee")
    if assignee is not None:
        validate.ident(assignee, "assignee")
    return JSONResponse(state.core.web_list(p, assignee))


async def web_create(state: ServerState, request: Request) -> Response:
    p = _web(state, request)
    v = _body(await read_json(request), {"id", "type", "assignee", "fields"}, set())
    rtype = v.get("type", limits.DEFAULT_WEB_TYPE)
    if type(rtype) is not str or rtype not in limits.RECORD_TYPES:
        raise bad(f"type must be one of {sorted(limits.RECORD_TYPES)}", "type")
    rec, pushes = state.core.web_create(
        p, record_id=validate.opt_ident(v.get("id"), "id"), rtype=rtype,
        assignee=validate.opt_ident(v.get("assignee"), "assignee"),
        fields=validate.fields(v.get("fields", {}), "fields"))
    await state.hub.deliver(pushes)
    return JSONResponse(rec, status_code=201)


async def web_read(state: ServerState, request: Request) -> Response:
    p = _web(state, request)
    return JSONResponse(state.core.web_read(p, _record_id(request)))


async def web_edit(state: ServerState, request: Request) -> Response:
    p = _web(state, request)
    rid = _record_id(request)
    v = _body(await read_json(request), {"fields"}, {"fields"})
    flds = validate.fields(v["fields"], "fields")
    if not flds:
        raise bad("an edit sets at least one field", "fields")
    rec, pushes = state.core.web_edit(p, rid, flds)
    await state.hub.deliver(pushes)
    return JSONResponse(rec)


async def web_assign(state: ServerState, request: Request) -> Response:
    p = _web(state, request)
    rid = _record_id(request)
    v = _body(await read_json(request), {"assignee"}, {"assignee"})
    rec, pushes = state.core.web_assign(p, rid, validate.ident(v["assignee"], "assignee"))
    await state.hub.deliver(pushes)
    return JSONResponse(rec)


async def web_unassign(state: ServerState, request: Request) -> Response:
    p = _web(state, request)
    rid = _record_id(request)
    _body(await read_json(request), set(), set())
    rec, pushes = state.core.web_assign(p, rid, None)
    await state.hub.deliver(pushes)
    return JSONResponse(rec)


async def web_status(state: ServerState, request: Request) -> Response:
    p = _web(state, request)
    rid = _record_id(request)
    v = _body(await read_json(request), {"status"}, {"status"})
    rec, pushes = state.core.web_status(p, rid, validate.string(v["status"], "status", 64))
    await state.hub.deliver(pushes)
    return JSONResponse(rec)


async def web_attach(state: ServerState, request: Request) -> Response:
    p = _web(state, request)
    rid = _record_id(request)
    v = _body(await read_json(request), {"file"}, {"file"})
    rec, pushes = state.core.web_attach(p, rid, validate.ident(v["file"], "file"))
    await state.hub.deliver(pushes)
    return JSONResponse(rec)


async def web_snapshot(state: ServerState, request: Request) -> Response:
    p = _web(state, request)
    v = _body(await read_json(request), {"devices"}, set())
    devices = v.get("devices")
    if devices is not None:
        if type(devices) is not list:
            raise bad("expected a JSON array of device ids", "devices")
        devices = [validate.ident(d, f"devices[{i}]") for i, d in enumerate(devices)]
    return JSONResponse(state.core.snapshot(p, devices))


async def admin_devices(state: ServerState, request: Request) -> Response:
    p = state.tokens.from_header(request.headers.get("authorization"))
    if p.role != "admin":
        raise ApiError(403, "only the admin token provisions devices", None)
    v = _body(await read_json(request), {"user", "role", "device"}, {"user", "role"})
    user = validate.ident(v["user"], "user")
    role = v["role"]
    if type(role) is not str or role not in limits.ROLES - {"admin"}:
        raise bad("role must be dispatcher, worker or sales", "role")
    device = validate.opt_ident(v.get("device"), "device") or user
    # The operator's name: a user or device called "admin" would read as the
    # admin in every trace and log (the admin's own identity is auth.ADMIN_ID).
    for name, where in ((user, "user"), (device, "device")):
        if name in limits.RESERVED_NAMES:
            raise bad(f"{name!r} is reserved for the operator", where)
    token = state.provision(user=user, role=role, device=device)
    return JSONResponse({"user": user, "role": role, "device": device, "token": token},
                        status_code=201)


async def push_socket(state: ServerState, ws: WebSocket) -> None:
    """``/v1/push``: register, then accept, then answer pings until closed."""
    p = state.tokens.lookup(ws.query_params.get("token"))
    if p is None:
        try:
            p = state.tokens.from_header(ws.headers.get("authorization"))
        except ApiError:
            await ws.close(code=1008)  # policy violation: before accept, an HTTP 403
            return
    accepted = asyncio.Event()

    async def send(frame: str) -> None:
        await asyncio.wait_for(accepted.wait(), PUSH_ACCEPT_TIMEOUT_S)
        await ws.send_text(frame)

    key = id(ws)
    # Registered before the handshake completes: once the client's connect
    # returns, no push for it can be missed.
    state.hub.register(p.user, p.device, key, send)
    try:
        await ws.accept()
        accepted.set()
        await state.hub.flush(p.user, p.device, key, send)
        while True:
            msg = await ws.receive_text()
            try:
                obj = orjson.loads(msg)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict) and obj.get("type") == "ping":
                await ws.send_text('{"type":"pong"}')
    except (WebSocketDisconnect, RuntimeError, KeyError):
        pass
    finally:
        state.hub.unregister(p.user, key)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": str(exc.detail).lower(), "where": request.url.path},
                        status_code=exc.status_code, headers=exc.headers)


def create_app(config: ServerConfig | None = None, *,
               state: ServerState | None = None) -> Starlette:
    """The ASGI app; ``app.state.server`` is its :class:`ServerState`."""
    if state is None:
        state = ServerState(config or ServerConfig())

    def r(path: str, fn, method: str, name: str | None = None) -> Route:
        return Route(path, endpoint(state, name or f"{method} {path}", fn), methods=[method])

    async def ws_entry(ws: WebSocket) -> None:
        await push_socket(state, ws)

    jobs = "/v1/web/jobs/{record_id}"
    routes = [
        r("/v1/health", health, "GET"),
        r("/openapi.json", openapi, "GET"),
        r("/v1/metrics", metrics, "GET"),
        r("/metrics", metrics_prometheus, "GET"),
        r("/v1/sync", sync, "POST"),
        r("/v1/web/jobs", web_list, "GET"),
        r("/v1/web/jobs", web_create, "POST"),
        r(jobs, web_read, "GET"),
        r(jobs, web_edit, "PATCH"),
        r(jobs + "/assign", web_assign, "POST"),
        r(jobs + "/unassign", web_unassign, "POST"),
        r(jobs + "/status", web_status, "POST"),
        r(jobs + "/attach", web_attach, "POST"),
        r("/v1/web/snapshot", web_snapshot, "POST"),
        r("/v1/admin/devices", admin_devices, "POST"),
        r("/v1/files/{file_id}", files_api.download, "GET"),
        r("/v1/files/{file_id}/upload", files_api.upload_status, "GET"),
        r("/v1/files/{file_id}/upload", files_api.upload_append, "PATCH"),
        r("/v1/files/{file_id}/finish", files_api.finish, "POST"),
        WebSocketRoute("/v1/push", ws_entry),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        # The first hand-off to the thread pool (a finish's hashing) imports and
        # starts its machinery: 27 ms here, which made a run's first upload
        # +7..20 % slower than its link at K = 60. Pay it before the first request.
        await run_in_threadpool(lambda: None)
        if state.bus is not None:
            await state.bus.start()
        try:
            yield
        finally:
            if state.bus is not None:
                await state.bus.close()
            state.close()

    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error},
                    lifespan=lifespan)
    app.state.server = state
    return app
