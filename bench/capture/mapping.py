"""The mapping file (``app.yaml``): how an app's requests become trace events.

Theory of operation
-------------------
A team's app speaks its own API. The mapping says, in data, which requests
are what the rules talk about (spec/trace.md)::

    POST /api/sync            ──► sync_start … ack, recv … sync_end   (sync)
    PUT  /api/photos/{id}     ──► file_start … file_end, dir up        (files)
    GET  /media/{id}          ──► file_start … file_end, dir down      (files)
    WebSocket /ws, {"type": "push"} frames ──► push, push_channel       (push)

and how a request is tied to a device (a JSON body field, a header, the
listener it came in on, or the bearer token a device was seen with before).
Every field of the JSON bodies is named by a dotted path (``file.bytes``;
a number indexes a list; ``""`` is the whole body). :func:`load_mapping`
validates the whole file before anything runs: an unknown key, a missing
one, a bad regular expression or a wrong type is a :class:`MappingError`
naming the file and the key, one line.

The mapping for the bench's own protocol ships as ``maps/syncbench.yaml``
(:data:`BUILTIN`); docs/examples/rest-app.yaml is a commented one for a
typical REST app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

SCHEMA = "syncbench.map/1"
BUILTIN = "syncbench"
CLOCKS = ("unix", "unix_ms", "iso")
DIRS = ("up", "down")
# A file transfer in several requests: ``begin`` opens it (an offset probe),
# ``body`` moves bytes (a failure ends it), ``finish`` ends it (ok on 2xx);
# ``whole`` is all three in one request.
ROLES = ("begin", "body", "finish", "whole")
KINDS = ("text", "status", "photo")
DEVICE_SOURCES = ("json", "header", "query")


class MappingError(ValueError):
    """A mapping file that cannot be used; the message is one line."""


@dataclass(frozen=True, slots=True)
class Match:
    method: str | None
    path: re.Pattern[str]

    def __call__(self, method: str, path: str) -> re.Match[str] | None:
        if self.method is not None and method.upper() != self.method:
            return None
        return self.path.search(path)


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncMap:
    match: Match
    changes: str | None
    change: dict[str, str]
    kinds: dict[str, str]  # the app's word -> text/status/photo
    saved_at_clock: str
    acks: str | None
    ack: dict[str, str]
    records: str | None
    record: dict[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileMap:
    match: Match
    dir: str
    role: str
    bytes: str | None  # a header giving the size (else Content-Length)


@dataclass(frozen=True, slots=True, kw_only=True)
class PushMap:
    path: re.Pattern[str]
    when: dict[str, Any]
    record: str
    reason: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Mapping:
    name: str
    source: str
    device: tuple[tuple[str, str], ...]
    token: str | None
    sync: SyncMap | None
    files: tuple[FileMap, ...] = ()
    push: PushMap | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def dig(value: Any, path: str | None) -> Any:
    """The value at dotted ``path`` in parsed JSON, or None when any step is missing."""
    if path is None:
        return None
    if path in ("", "."):
        return value
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
        if value is None:
            return None
    return value


class _Reader:
    """Typed access to one YAML mapping with errors naming file and key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> MappingError:
        return MappingError(f"{self.source}: {where}: {problem}")

    def obj(self, v: Any, where: str, allowed: set[str], required: set[str] = frozenset()) -> dict:
        if not isinstance(v, dict):
            raise self.fail(where, f"must be a mapping, got {type(v).__name__}")
        unknown = sorted(set(v) - allowed)
        if unknown:
            raise self.fail(f"{where}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(allowed))})")
        missing = sorted(required - set(v))
        if missing:
            raise self.fail(f"{where}.{missing[0]}", "missing")
        return v

    def text(self, v: Any, where: str, *, allow_empty: bool = False) -> str:
        if not isinstance(v, str) or (not v and not allow_empty):
            raise self.fail(where, f"must be a {'' if allow_empty else 'non-empty '}string, got {v!r}")
        return v

    def regex(self, v: Any, where: str) -> re.Pattern[str]:
        try:
            return re.compile(self.text(v, where))
        except re.error as exc:
            raise self.fail(where, f"not a regular expression ({exc})") from None

    def choice(self, v: Any, where: str, options: tuple[str, ...]) -> str:
        if v not in options:
            raise self.fail(where, f"must be one of {', '.join(options)}, got {v!r}")
        return v

    def match(self, v: dict, where: str) -> Match:
        method = v.get("method")
        if method is not None:
            method = self.text(method, where + ".method").upper()
        return Match(method=method, path=self.regex(v.get("path"), where + ".path"))

    def paths(self, v: Any, where: str, keys: dict[str, str | None], required: set[str]) -> dict:
        """A ``{role: dotted path}`` block; roles in ``keys`` default to their value."""
        v = {} if v is None else v
        self.obj(v, where, set(keys), required)
        out = {k: d for k, d in keys.items() if d is not None}
        for k, p in v.items():
            out[k] = self.text(p, f"{where}.{k}", allow_empty=True)
        return out


def parse_mapping(data: Any, source: str) -> Mapping:
    """A :class:`Mapping` from parsed YAML; :class:`MappingError` on any problem."""
    r = _Reader(source)
    top = r.obj(data, "map", {"map", "name", "device", "token", "sync", "files", "push"}, {"map"})
    if top["map"] != SCHEMA:
        raise r.fail("map", f"must be {SCHEMA!r}, got {top['map']!r}")
    name = r.text(top.get("name", Path(source).stem), "name")
    devices = []
    for i, d in enumerate(top.get("device") or ()):
        w = f"device[{i}]"
        r.obj(d, w, set(DEVICE_SOURCES))
        if len(d) != 1:
            raise r.fail(w, f"names exactly one of {', '.join(DEVICE_SOURCES)}")
        (src, val), = d.items()
        devices.append((src, r.text(val, f"{w}.{src}")))
    if not isinstance(top.get("device", []), list):
        raise r.fail("device", "must be a list of {json|header|query: name}")
    token = top.get("token")
    if token is not None:
        token = r.text(token, "token").lower()
    sync = None
    if top.get("sync") is not None:
        s = r.obj(top["sync"], "sync", {"method", "path", "changes", "change", "kinds",
                                        "saved_at_clock", "acks", "ack", "records", "record"},
                  {"path"})
        kinds: dict[str, str] = {}
        kv = s.get("kinds") or {k: k for k in KINDS}
        r.obj(kv, "sync.kinds", set(KINDS))
        for kind, words in kv.items():
            for word in ([words] if isinstance(words, str) else words or ()):
                kinds[r.text(word, f"sync.kinds.{kind}")] = kind
        sync = SyncMap(
            match=r.match(s, "sync"),
            changes=s.get("changes") and r.text(s["changes"], "sync.changes", allow_empty=True),
            change=r.paths(s.get("change"), "sync.change",
                           {"id": "change", "record": "record", "kind": "kind",
                            "saved_at": None, "bytes": None, "fields": "fields"}, set()),
            kinds=kinds,
            saved_at_clock=r.choice(s.get("saved_at_clock", "unix"), "sync.saved_at_clock", CLOCKS),
            acks=s.get("acks") and r.text(s["acks"], "sync.acks", allow_empty=True),
            ack=r.paths(s.get("ack"), "sync.ack",
                        {"change": "change", "version": "version", "error": None,
                         "record": "record"}, set()),
            records=s.get("records") and r.text(s["records"], "sync.records", allow_empty=True),
            record=r.paths(s.get("record"), "sync.record", {"id": "id", "version": "version"},
                           set()),
        )
    files = []
    raw_files = top.get("files") or []
    if not isinstance(raw_files, list):
        raise r.fail("files", "must be a list")
    for i, f in enumerate(raw_files):
        w = f"files[{i}]"
        r.obj(f, w, {"method", "path", "dir", "role", "bytes"}, {"path", "dir"})
        m = r.match(f, w)
        if "file" not in m.path.groupindex:
            raise r.fail(w + ".path", "needs a named group (?P<file>...) for the file id")
        files.append(FileMap(match=m, dir=r.choice(f["dir"], w + ".dir", DIRS),
                             role=r.choice(f.get("role", "whole"), w + ".role", ROLES),
                             bytes=f.get("bytes") and r.text(f["bytes"], w + ".bytes").lower()))
    push = None
    if top.get("push") is not None:
        p = r.obj(top["push"], "push", {"path", "when", "record", "reason"}, {"path"})
        when = p.get("when") or {}
        r.obj(when, "push.when", set(when))
        push = PushMap(path=r.regex(p["path"], "push.path"), when=dict(when),
                       record=r.text(p.get("record", "record"), "push.record"),
                       reason=p.get("reason") and r.text(p["reason"], "push.reason"))
    if sync is None and not files and push is None:
        raise r.fail("map", "maps nothing: give at least one of sync, files, push")
    return Mapping(name=name, source=source, device=tuple(devices), token=token, sync=sync,
                   files=tuple(files), push=push)


def load_mapping(spec: str | Path | None) -> Mapping:
    """A mapping file, or the built-in one by name (``None`` or ``"syncbench"``)."""
    if spec is None or str(spec) == BUILTIN:
        text = resources.files("bench.capture").joinpath("maps/syncbench.yaml").read_text()
        return parse_mapping(yaml.safe_load(text), "syncbench (built in)")
    path = Path(spec)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        raise MappingError(f"{path}: {where}: not YAML ({getattr(exc, 'problem', exc)})") from None
    return parse_mapping(data, str(path))
