"""The OpenAPI 3 document of the reference server, maintained by hand.

Theory of operation: a plain dict, served at ``/openapi.json``, validated by
openapi-spec-validator and fuzzed by schemathesis in the test suite. A test
checks that its paths and methods are exactly those listed in
docs/protocol.md. Schemas mirror the hand-written validators in
``validate.py`` (unknown fields refused: ``additionalProperties: false``).
"""

from __future__ import annotations

from typing import Any

from reference_server import limits

ID = {"type": "string", "pattern": r"^[A-Za-z0-9._:@-]{1,128}$"}
SHA = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
SCALAR = {"oneOf": [{"type": "string", "maxLength": limits.MAX_FIELD_VALUE_LEN},
                    {"type": "number"}, {"type": "boolean"}], "nullable": True}
FIELDS = {"type": "object", "additionalProperties": SCALAR, "maxProperties": limits.MAX_FIELDS}
ERROR = {"type": "object", "required": ["error", "where"],
         "properties": {"error": {"type": "string"}, "where": {"type": "string", "nullable": True}}}
FILE = {"type": "object", "additionalProperties": False, "required": ["id", "sha256", "bytes"],
        "properties": {"id": ID, "sha256": SHA, "bytes": {"type": "integer", "minimum": 0}}}
RECORD = {
    "type": "object", "required": ["id", "type", "version", "assignee", "fields", "files"],
    "properties": {"id": ID, "type": {"type": "string", "enum": sorted(limits.RECORD_TYPES)},
                   "version": {"type": "integer"}, "assignee": {**ID, "nullable": True},
                   "fields": FIELDS, "files": {"type": "array", "items": FILE}}}
CHANGE = {
    "type": "object", "additionalProperties": False,
    "required": ["change", "record", "kind", "base_version"],
    "properties": {
        "change": ID, "record": ID, "kind": {"type": "string", "enum": ["text", "status", "photo"]},
        "base_version": {"type": "integer", "minimum": 1, "nullable": True},
        "fields": FIELDS, "file": {**FILE, "nullable": True},
        "type": {"type": "string", "enum": sorted(limits.RECORD_TYPES)},
        "saved_at": {"type": "number", "nullable": True}}}
SYNC_REQ = {
    "type": "object", "additionalProperties": False, "required": ["device", "cursor", "mode"],
    "properties": {"device": ID, "cursor": {"type": "string", "nullable": True},
                   "mode": {"type": "string", "enum": ["full", "upload", "download"]},
                   "changes": {"type": "array", "items": CHANGE,
                               "maxItems": limits.MAX_CHANGES_PER_SYNC}}}
ACK = {"type": "object", "required": ["change", "record", "version", "conflict", "error"],
       "properties": {"change": ID, "record": ID,
                      "version": {"type": "integer", "nullable": True},
                      "conflict": {"type": "string", "nullable": True},
                      "error": {"type": "string", "nullable": True}}}
SYNC_RESP = {
    "type": "object", "required": ["acks", "cursor", "server_time"],
    "properties": {"acks": {"type": "array", "items": ACK},
                   "records": {"type": "array", "items": RECORD},
                   "removed": {"type": "array", "items": ID},
                   "files": {"type": "array", "items": {"type": "object"}},
                   "cursor": {"type": "string", "nullable": True}, "more": {"type": "boolean"},
                   "server_time": {"type": "number"}}}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _obj(props: dict, required: list[str] | None = None) -> dict:
    out: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": props}
    if required:
        out["required"] = required
    return out


_ERRORS = {str(c): {"description": d, **_json(ERROR)} for c, d in (
    (400, "malformed request"), (401, "no valid token"), (403, "role not allowed"),
    (404, "not found or not in scope"), (409, "state conflict"), (413, "too large"),
    (416, "range not satisfiable"), (422, "content check failed"))}


def op(summary: str, ok: dict, *, body: dict | None = None, params: list | None = None,
       status: str = "200", secure: bool = True, raw_body: bool = False) -> dict:
    out: dict[str, Any] = {"summary": summary,
                           "responses": {status: {"description": "ok", **ok}, **_ERRORS}}
    if body is not None:
        out["requestBody"] = {"required": True, **_json(body)}
    if raw_body:
        out["requestBody"] = {"required": True, "content": {"application/octet-stream": {
            "schema": {"type": "string", "format": "binary"}}}}
    if params:
        out["parameters"] = params
    if not secure:
        out["security"] = []
    return out


def path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": ID}


REC = _json(RECORD)
FID = [path_param("file_id")]
RID = [path_param("record_id")]
UPLOAD_STATUS = _json({"type": "object", "required": ["file", "offset", "complete"],
                       "properties": {"file": ID, "offset": {"type": "integer"},
                                      "complete": {"type": "boolean"}}})

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "syncbench reference sync server", "version": "1.0.0",
             "description": "See docs/protocol.md."},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/v1/health": {"get": op("liveness", _json(_obj({"ok": {"type": "boolean"}})),
                                 secure=False)},
        "/openapi.json": {"get": op("this document", _json({"type": "object"}), secure=False)},
        "/v1/metrics": {"get": op("request counts and latency quantiles per route",
                                  _json({"type": "object"}))},
        "/metrics": {"get": op("the same counters as /v1/metrics, Prometheus text format 0.0.4",
                               {"content": {"text/plain": {"schema": {"type": "string"}}}})},
        "/v1/sync": {"post": op("upload changes, download the scope's updates",
                                _json(SYNC_RESP), body=SYNC_REQ)},
        "/v1/files/{file_id}": {"get": op(
            "download, optionally a Range", {"content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}}, params=FID + [
                {"name": "Range", "in": "header", "required": False,
                 "schema": {"type": "string"}}])},
        "/v1/files/{file_id}/upload": {
            "get": op("how many bytes arrived", UPLOAD_STATUS, params=FID),
            "patch": op("append bytes at Upload-Offset", _json({"type": "object"}),
                        raw_body=True, params=FID + [
                            {"name": "Upload-Offset", "in": "header", "required": True,
                             "schema": {"type": "integer", "minimum": 0}}])},
        "/v1/files/{file_id}/finish": {"post": op(
            "check sha256 and size, store by hash", _json(FILE), params=FID,
            body=_obj({"sha256": SHA, "bytes": {"type": "integer", "minimum": 0}},
                      ["sha256", "bytes"]))},
        "/v1/push": {"get": op("WebSocket: push notifications",
                               {"description": "switching protocols"}, status="101")},
        "/v1/web/jobs": {
            "get": op("list records", _json(_obj({"records": {"type": "array",
                                                              "items": RECORD}})),
                      params=[{"name": "assignee", "in": "query", "required": False,
                               "schema": ID}]),
            "post": op("create a record", REC, status="201", body=_obj({
                "id": ID, "type": {"type": "string", "enum": sorted(limits.RECORD_TYPES)},
                "assignee": {**ID, "nullable": True}, "fields": FIELDS}))},
        "/v1/web/jobs/{record_id}": {
            "get": op("read a record", REC, params=RID),
            "patch": op("edit fields", REC, params=RID,
                        body=_obj({"fields": FIELDS}, ["fields"]))},
        "/v1/web/jobs/{record_id}/assign": {"post": op(
            "assign", REC, params=RID, body=_obj({"assignee": ID}, ["assignee"]))},
        "/v1/web/jobs/{record_id}/unassign": {"post": op(
            "unassign", REC, params=RID, body=_obj({}))},
        "/v1/web/jobs/{record_id}/status": {"post": op(
            "change status", REC, params=RID,
            body=_obj({"status": {"type": "string", "minLength": 1, "maxLength": 64}},
                      ["status"]))},
        "/v1/web/jobs/{record_id}/attach": {"post": op(
            "attach an uploaded file", REC, params=RID, body=_obj({"file": ID}, ["file"]))},
        "/v1/web/snapshot": {"post": op(
            "server view of device scopes; writes srv_snapshot",
            _json(_obj({"snapshots": {"type": "object"}})),
            body=_obj({"devices": {"type": "array", "items": ID}}))},
        "/v1/admin/devices": {"post": op(
            "provision a user's device and token", _json({"type": "object"}), status="201",
            body=_obj({"user": ID, "role": {"type": "string",
                                            "enum": ["dispatcher", "worker", "sales"]},
                       "device": ID}, ["user", "role"]))},
    },
}
