"""Scripted mode: the runner's actions as JSON lines, and ``run_device``.

Theory of operation: a runner drives a real device the way a test engineer
drives a phone: it switches the network, opens and minimizes the app, edits
records, pulls to refresh. Each action is one JSON object per line::

    {"at": 0, "do": "link", "class": "wifi"}
    {"at": 0, "do": "app", "state": "opened"}          (or {"do": "opened"})
    {"at": 30, "do": "edit", "record": "job-1", "kind": "text", "fields": {"note": "x"}}
    {"at": 31, "do": "edit", "record": "job-1", "kind": "status", "status": "started"}
    {"at": 40, "do": "edit", "record": "job-1", "kind": "photo", "bytes": 200000}
    {"at": 50, "do": "manual"}
    {"at": 60, "do": "settle", "timeout": 30}
    {"at": 60, "do": "snapshot"}
    {"at": 61, "do": "stop"}

``at`` is spec seconds on the trace clock (optional: now); an action whose
time has passed runs at once. ``settle`` (an addition for runners) waits up to
``timeout`` wall seconds until nothing is unsent and no sync or transfer is in
flight. ``stop`` ends the run; so do SIGTERM and SIGINT. After the last line
the device keeps running until one of those.

:func:`parse_action` validates one decoded line and raises
``ValueError("<where>: ...")`` naming the line; :func:`run_device` plays a
script (a list, or an async iterator of lines such as stdin) on a
:class:`~reference_client.client.app.DeviceClient`.
"""

from __future__ import annotations

import asyncio
import json
import math
import signal
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reference_client.client.app import DeviceClient
from reference_client.client.clock import WallClock
from reference_client.client.config import ClientConfig
from reference_client.client.files import MAX_PHOTO_BYTES

APP_STATES = ("opened", "minimized", "restored", "closed")
# Allowed keys per action, besides "at" and "do".
ACTION_KEYS: dict[str, frozenset[str]] = {
    "link": frozenset({"class"}),
    "app": frozenset({"state"}),
    **{s: frozenset() for s in APP_STATES},
    "edit": frozenset({"record", "kind", "fields", "status", "bytes"}),
    "manual": frozenset({"via"}),
    "snapshot": frozenset(),
    "settle": frozenset({"timeout"}),
    "stop": frozenset(),
}
# `settle` without a timeout waits this many wall seconds at most.
DEFAULT_SETTLE_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ScriptAction:
    """One validated script line."""

    do: str
    at: float | None = None
    args: dict[str, Any] = field(default_factory=dict)


def parse_action(obj: Any, where: str = "action") -> ScriptAction:
    """Validate one decoded JSON line; ``ValueError("<where>: ...")`` if malformed."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: must be a JSON object, got {type(obj).__name__}")
    do = obj.get("do")
    if do not in ACTION_KEYS:
        raise ValueError(f"{where}: 'do' must be one of {', '.join(ACTION_KEYS)}, got {do!r}")
    at = obj.get("at")
    if at is not None and (type(at) not in (int, float) or not math.isfinite(at) or at < 0):
        raise ValueError(f"{where}: 'at' must be a non-negative number, got {at!r}")
    args = {k: v for k, v in obj.items() if k not in ("at", "do")}
    unknown = set(args) - ACTION_KEYS[do]
    if unknown:
        raise ValueError(f"{where}: unknown field {sorted(unknown)[0]!r} for {do!r}")
    if do in APP_STATES:
        do, args = "app", {"state": do}
    problem = _check_args(do, args)
    if problem:
        raise ValueError(f"{where}: {problem}")
    return ScriptAction(do=do, at=None if at is None else float(at), args=args)


def _check_args(do: str, a: dict[str, Any]) -> str | None:
    from reference_client.client.config import LINK_CLASSES

    if do == "link" and a.get("class") not in LINK_CLASSES:
        return f"'class' must be one of {', '.join(sorted(LINK_CLASSES))}, got {a.get('class')!r}"
    if do == "app" and a.get("state") not in APP_STATES:
        return f"'state' must be one of {', '.join(APP_STATES)}, got {a.get('state')!r}"
    if do == "edit":
        if not isinstance(a.get("record"), str) or not a["record"]:
            return f"'record' must be a non-empty string, got {a.get('record')!r}"
        kind = a.get("kind")
        need = {"text": "fields", "status": "status", "photo": "bytes"}.get(kind)
        if need is None:
            return f"'kind' must be text, status or photo, got {kind!r}"
        extra = set(a) - {"record", "kind", need}
        if extra:
            return f"a {kind} edit takes {need!r}, not {sorted(extra)[0]!r}"
        v = a.get(need)
        ok = {"fields": isinstance(v, dict) and bool(v),
              "status": isinstance(v, str) and bool(v),
              "bytes": type(v) is int and v > 0}[need]
        if ok and need == "bytes" and v > MAX_PHOTO_BYTES:
            return (f"a photo of {v:,} bytes is over the protocol's file limit of "
                    f"{MAX_PHOTO_BYTES:,}")
        if not ok:
            return f"a {kind} edit needs {need!r} ({'a non-empty object' if need == 'fields' else 'a non-empty string' if need == 'status' else 'a positive integer'}), got {v!r}"  # noqa: E501
    if do == "manual" and a.get("via") is not None and not isinstance(a["via"], str):
        return f"'via' must be a string, got {a['via']!r}"
    if do == "settle" and a.get("timeout") is not None and (
            type(a["timeout"]) not in (int, float) or not a["timeout"] > 0):
        return f"'timeout' must be a positive number, got {a['timeout']!r}"
    return None


def parse_line(line: str | bytes, where: str) -> ScriptAction | None:
    """One JSON line (blank: None)."""
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"{where}: not JSON ({exc})") from None
    return parse_action(obj, where)


def load_script(path: Path) -> list[ScriptAction]:
    """Read and validate a whole script file (errors name ``file:line``)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"script {path}: cannot read ({exc})") from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        action = parse_line(line, f"{path}:{n}")
        if action is not None:
            out.append(action)
    return out


async def perform(dev: DeviceClient, action: ScriptAction) -> bool:
    """Carry out one action on ``dev``; False when it is ``stop``."""
    a = action.args
    if action.do == "link":
        await dev.set_link(a["class"])
    elif action.do == "app":
        await dev.app(a["state"])
    elif action.do == "edit":
        await dev.edit(a["record"], a["kind"], fields=a.get("fields"), status=a.get("status"),
                       nbytes=a.get("bytes"))
    elif action.do == "manual":
        await dev.manual(a.get("via"))
    elif action.do == "snapshot":
        await dev.snapshot()
    elif action.do == "settle":
        await dev.wait_for(lambda d: d.unsent == 0 and not d.busy,
                           a.get("timeout") or DEFAULT_SETTLE_TIMEOUT_S)
    elif action.do == "stop":
        return False
    return True


async def _lines(script: Iterable[ScriptAction] | AsyncIterator[Any]) -> AsyncIterator[Any]:
    if hasattr(script, "__aiter__"):
        async for item in script:  # type: ignore[union-attr]
            yield item
    else:
        for item in script:  # type: ignore[union-attr]
            yield item


async def run_device(config: ClientConfig, script: Iterable[ScriptAction] | AsyncIterator[Any],
                     *, wall: WallClock = time.time, handle_signals: bool = False,
                     stop: asyncio.Event | None = None) -> DeviceClient:
    """Play ``script`` on one device until ``stop`` (an action, the event, or a
    signal with ``handle_signals``); the closed client is returned for inspection.
    Items may be :class:`ScriptAction` objects or raw JSON lines (named ``script:N``)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    if handle_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    try:
        async with DeviceClient(config, wall=wall) as dev:
            player = loop.create_task(_play(dev, script, stop), name="script")
            stopper = loop.create_task(stop.wait(), name="stop")
            try:
                await asyncio.wait({player, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if player.done() and player.exception() is not None:
                    raise player.exception()  # type: ignore[misc]
                if player.done() and not stop.is_set():
                    await stopper  # the script ended without `stop`: run until told
            finally:
                for task in (player, stopper):
                    task.cancel()
                await asyncio.gather(player, stopper, return_exceptions=True)
        return dev
    finally:
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)


async def _play(dev: DeviceClient, script: Any, stop: asyncio.Event) -> None:
    n = 0
    async for item in _lines(script):
        n += 1
        action = item if isinstance(item, ScriptAction) else parse_line(item, f"script:{n}")
        if action is None:
            continue
        # Loop: a loop timer may wake a hair early, and the action must not be
        # stamped before its `at`.
        while action.at is not None and (delay := dev.clock.wall_delay(action.at)) > 0:
            try:
                await asyncio.wait_for(stop.wait(), delay)
                return
            except TimeoutError:
                pass
        if not await perform(dev, action):
            stop.set()
            return
