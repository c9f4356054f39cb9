"""Streaming, validating reader of ``syncbench.trace/1``.

Theory of operation: the file is read line by line in binary and parsed with
orjson; nothing but the current line and two small pieces of state are held
(the last ``t``, and per device the sync ids already used, which the spec
requires to be unique). Every line is validated before it is yielded, so a
consumer that stops at the first :class:`TraceError` has acted on valid events
only; the checker collects verdicts and discards them when the trace turns out
malformed ("makes the whole trace invalid ... and checks nothing").
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from bench.trace.schema import (
    EVENTS,
    META_FIELDS,
    NULLABLE_REQUIRED,
    SCHEMA,
    _is_bool,
    _is_num,
    _is_num_or_null,
    _is_str,
    _is_str_or_null,
    describe,
)

# Forgiving real exports (docs/checking.md "What the reader forgives"). A ``t``
# past EPOCH_S is a wall-clock timestamp in seconds, past EPOCH_MS in
# milliseconds; the trace is then rebased on its meta ``epoch`` or its first
# timed event, so t = 0 is the start of the run.
EPOCH_S = 1e9
EPOCH_MS = 1e12
# Common spellings of the closed vocabularies, read as the trace format's word
# (case-insensitive), each with a notice.
ALIASES: dict[str, dict[str, str]] = {
    "class": {"4g": "lte", "lte-a": "lte", "wi-fi": "wifi", "wlan": "wifi", "none": "offline",
              "no_connection": "offline", "disconnected": "offline", "airplane": "offline",
              "umts": "3g", "wcdma": "3g", "hsdpa": "hspa", "hspa+": "hspa", "hsupa": "hspa",
              "gsm": "2g", "nr": "5g", "ethernet": "wifi"},
    "state": {"background": "minimized", "backgrounded": "minimized", "paused": "minimized",
              "foreground": "restored", "resumed": "restored", "active": "restored",
              "launched": "opened", "started": "opened", "open": "opened",
              "terminated": "closed", "killed": "closed", "stopped": "closed"},
    "kind": {"note": "text", "image": "photo", "picture": "photo", "attachment": "photo"},
    "dir": {"upload": "up", "download": "down"},
    "op": {"update": "edit", "reassign": "assign", "change_status": "status"},
}
# Kinds that, at the same instant on one device, belong before that device's
# ``sync_end``: the answer's acks, records and transfers (a sync_end written
# before its own acks at the same millisecond is not a failure).
_BEFORE_END = frozenset({"ack", "recv", "file_end"})


class TraceError(ValueError):
    """A malformed trace: ``where:line: what is wrong``."""

    def __init__(self, where: str, line: int, problem: str) -> None:
        self.where = where
        self.line = line
        self.problem = problem
        # Line 0 means the file as a whole (it could not be opened).
        super().__init__(f"{where}:{line}: {problem}" if line else f"{where}: {problem}")


def check_fields(ev: dict[str, Any], spec: tuple, kind: str) -> str | None:
    """Return what is wrong with ``ev`` against ``spec``, or None."""
    for name, check, required in spec:
        value = ev.get(name)
        if value is None:
            if required and not (name in ev and (kind, name) in NULLABLE_REQUIRED):
                return f"{kind} event is missing required field {name!r}"
            continue
        if not check(value):
            return f"{kind} field {name!r} must be {describe(check)}, got {_show(value)}"
    return None


def _show(value: Any) -> str:
    try:
        text = orjson.dumps(value).decode()
    except TypeError:  # e.g. an integer beyond 64 bits
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_NUM = (int, float)
_NUM_OR_NONE = (int, float, type(None))


def _compile(kind: str, spec: tuple) -> Callable[[dict[str, Any]], bool]:
    """A fast all-in-one predicate for one kind's fields (the hot path).

    It answers only "valid or not"; on a False the reader asks
    :func:`check_fields` what exactly is wrong, so both always agree on which
    lines are valid (a test compares them). Required fields are read by
    subscript (a missing one is a KeyError: not valid), each value once."""
    env: dict[str, Any] = {"NUM": _NUM, "NUM_OR_NONE": _NUM_OR_NONE}
    terms = []
    for i, (name, check, required) in enumerate(spec):
        v = f"v{i}"
        vocab = getattr(check, "vocab", None)
        if vocab is not None:
            env[f"V{i}"] = vocab
            test = f"(type(v) is str and v in V{i})"
        elif check is _is_str:
            test = "type(v) is str"
        elif check is _is_num:
            test = "type(v) in NUM"
        elif check is _is_bool:
            test = "type(v) is bool"
        elif check is _is_num_or_null:
            test = "type(v) in NUM_OR_NONE"
        elif check is _is_str_or_null:
            test = "(v is None or type(v) is str)"
        else:
            env[f"C{i}"] = check
            test = f"C{i}(v)"
        if required and (kind, name) in NULLABLE_REQUIRED:
            terms.append(_sub(test, f"ev[{name!r}]"))  # present, maybe null
        elif required:
            terms.append(_sub(test, f"ev[{name!r}]"))
        else:
            terms.append(f"(({v} := ev.get({name!r})) is None or {_sub(test, v)})")
    src = (f"def valid(ev):\n    try:\n        return {' and '.join(terms) or 'True'}\n"
           f"    except KeyError:\n        return False\n")
    exec(compile(src, f"<trace validator {kind}>", "exec"), env)  # noqa: S102 - source built above
    return env["valid"]


def _sub(test: str, x: str) -> str:
    """Put the field expression where the test says ``v``."""
    import re

    return re.sub(r"\bv\b", x, test)


FAST_VALID: dict[str, Callable[[dict[str, Any]], bool]] = {k: _compile(k, spec) for k, spec in EVENTS.items()}


def validate_event(ev: Any) -> str | None:
    """What is wrong with one decoded event (ignoring ordering), or None."""
    if type(ev) is not dict:
        return "not a JSON object"
    kind = ev.get("ev")
    if type(kind) is not str:
        return "no string 'ev' field"
    if kind == "meta":
        problem = check_fields(ev, META_FIELDS, "meta")
        if problem is None and ev["schema"] != SCHEMA:
            problem = f"meta schema must be {SCHEMA!r}, got {ev['schema']!r}"
        return problem
    spec = EVENTS.get(kind)
    if spec is None:
        return None  # unknown kinds pass through
    return check_fields(ev, spec, kind)


class TraceReader:
    """Iterate the events of a trace, validating each line.

    ``meta`` is available after the first event is read (or None). The ``meta``
    line itself is not yielded.
    """

    def __init__(self, source: str | Path | IO[bytes] | Iterable[bytes], name: str | None = None,
                 *, rebase_epoch: bool = True):
        self._source = source
        self._rebase_epoch = rebase_epoch
        if name is None:
            name = "<stdin>" if source == "-" else str(source) if isinstance(source, str | Path) else "<trace>"
        self.name = name
        self.meta: dict[str, Any] | None = None
        self.lines = 0
        self.events = 0
        self.last_t: float | None = None
        # What was forgiven, one line each (aliases, an epoch rebase, reorders).
        self.notices: list[str] = []
        self._alias_seen: dict[tuple[str, str], int] = {}
        # (origin, divisor) when the trace's times were wall-clock timestamps.
        self.rebase: tuple[float, float] | None = None

    def _open(self) -> tuple[Iterable[bytes], IO[bytes] | None]:
        src = self._source
        if src == "-":
            return sys.stdin.buffer, None
        if isinstance(src, str | Path):
            try:
                fh = open(src, "rb")  # noqa: SIM115 - closed in __iter__
            except OSError as exc:
                raise TraceError(self.name, 0, f"cannot read trace: {exc.strerror or exc}") from None
            return fh, fh
        if isinstance(src, io.TextIOBase):
            return (line.encode() for line in src), None
        return src, None  # type: ignore[return-value]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        # One generator for the whole pipeline (open, parse, validate, hold a
        # sync_end for the rest of its instant): this is the hot loop of
        # ``syncbench check``, and every generator layer costs per event.
        # ``lines``, ``events`` and ``last_t`` are written back when iteration
        # ends or stops (also on an error), not per event.
        lines, fh = self._open()
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        fast = FAST_VALID
        name = self.name
        last_t = float("-inf")
        syncs: dict[str, set[str]] = {}
        first = True
        n = events = 0
        rebase = None
        held = None  # a sync_end waiting for the rest of its instant
        good = 0  # the line of the last valid event
        try:
            for raw in lines:
                n += 1
                try:
                    ev = loads(raw)
                except decode_error as exc:
                    if not raw.strip():
                        continue  # "Blank lines are allowed"
                    raise TraceError(name, n, f"not JSON ({exc.args[0].split(':')[0]})") from None
                if type(ev) is not dict:
                    raise TraceError(name, n, "not a JSON object")
                kind = ev.get("ev")
                try:
                    valid = fast.get(kind)  # None: meta, an unknown kind, or no string at all
                except TypeError:  # unhashable: a list or an object
                    valid = None
                if valid is not None:
                    if not valid(ev) and not (self._forgive(ev, kind) and valid(ev)):
                        raise TraceError(name, n, check_fields(ev, EVENTS[kind], kind) or f"{kind} event is malformed")
                    t = ev["t"]
                    if rebase is None and t > EPOCH_S and last_t == float("-inf") and self._rebase_epoch:
                        self._start_rebase(t)
                        rebase = self.rebase
                    if rebase is not None:
                        origin, div = rebase
                        t = ev["t"] = round((t - origin) / div, 6)
                        at = ev.get("at")
                        if type(at) in _NUM and at > EPOCH_S:
                            ev["at"] = round((at - origin) / div, 6)
                    if t < last_t:
                        raise TraceError(name, n, f"t goes backwards: {t} after {last_t}")
                    if kind == "sync_start":
                        used = syncs.get(ev["dev"])
                        if used is None:
                            used = syncs[ev["dev"]] = set()
                        sid = ev["sync"]
                        if sid in used:
                            raise TraceError(name, n, f"sync id {sid!r} reused on device {ev['dev']!r}")
                        used.add(sid)
                    last_t = t
                elif type(kind) is not str:
                    raise TraceError(name, n, "no string 'ev' field")
                elif kind == "meta":
                    if not first:
                        raise TraceError(name, n, "meta event is only allowed as the first line")
                    problem = validate_event(ev)
                    if problem is not None:
                        raise TraceError(name, n, problem)
                    self.meta = ev
                    first = False
                    continue
                else:
                    t = ev.get("t")
                    if type(t) in _NUM:
                        if rebase is not None:
                            t = ev["t"] = round((t - rebase[0]) / rebase[1], 6)
                        if t < last_t:
                            raise TraceError(name, n, f"t goes backwards: {t} after {last_t}")
                        last_t = t
                first = False
                events += 1
                good = n
                # -- causal order within an instant (docs/checking.md) --
                if held is not None:
                    if (kind in _BEFORE_END and ev.get("t") == held["t"] and ev.get("dev") == held["dev"]
                            and (kind != "recv" or ev.get("sync") in (None, held["sync"]))):
                        self._same_instant(ev)
                        yield ev
                        continue
                    h, held = held, None
                    yield h
                if kind == "sync_end":
                    held = ev
                    continue
                yield ev
            good = n
            if events == 0:
                # An empty export is a broken export: checking it would give every
                # rule n/a and exit 0, and "n/a is never a way to hide a failure".
                what = "holds only a meta line" if self.meta is not None else "holds only blank lines" if n else "is an empty file"
                raise TraceError(name, n + 1 if n else 1, f"no events (the trace {what})")
            if held is not None:
                h, held = held, None
                yield h
            self._alias_notices()
        finally:
            self.lines = good
            self.events += events
            if events:
                self.last_t = last_t
            if fh is not None:
                fh.close()

    def _same_instant(self, ev: dict[str, Any]) -> None:
        if len(self.notices) < 100 and not any(n.startswith("same instant") for n in self.notices):
            self.notices.append(f"same instant: {ev['ev']} at t={ev['t']} on {ev['dev']} "
                                f"read before the sync_end written above it (causal order)")

    def _alias_notices(self) -> None:
        for (field, word), count in self._alias_seen.items():
            more = f" ({count} times)" if count > 1 else ""
            self.notices.append(f"{field} {word!r} read as {self._alias(field, word)!r}{more}")

    @staticmethod
    def _alias(field: str, word: str) -> str | None:
        return ALIASES.get(field, {}).get(word.lower()) or (
            word.lower() if word.lower() != word else None)

    def _forgive(self, ev: dict[str, Any], kind: str) -> bool:
        """Map aliases in ``ev``'s closed-vocabulary fields; True if anything changed."""
        changed = False
        for field in ALIASES:
            word = ev.get(field)
            if type(word) is not str:
                continue
            vocab = next((getattr(c, "vocab", None) for n, c, _ in EVENTS[kind] if n == field), None)
            if vocab is None or word in vocab:
                continue
            to = self._alias(field, word)
            if to is not None and to in vocab:
                ev[field] = to
                key = (field, word)
                self._alias_seen[key] = self._alias_seen.get(key, 0) + 1
                changed = True
        return changed

    def _start_rebase(self, t: float) -> None:
        div = 1000.0 if t > EPOCH_MS else 1.0
        epoch = (self.meta or {}).get("epoch")
        origin = epoch * div if isinstance(epoch, (int, float)) and epoch * div <= t else t
        self.rebase = (origin, div)
        unit = "milliseconds" if div > 1 else "seconds"
        self.notices.append(f"times are wall-clock {unit} since 1970: rebased so t=0 is "
                            f"{'the meta epoch' if origin != t else 'the first event'} ({origin:.3f})")

def read_meta(path: str | Path) -> dict[str, Any] | None:
    """The meta line of a trace file, without reading the rest."""
    with open(path, "rb") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            try:
                ev = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return None
            return ev if type(ev) is dict and ev.get("ev") == "meta" else None
    return None


def read_trace(source: str | Path | IO[bytes] | Iterable[bytes]) -> list[dict[str, Any]]:
    """All events of a small trace (tests, reports); large traces should stream."""
    return list(TraceReader(source))
