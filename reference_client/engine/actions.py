"""Actions the engine returns from :meth:`Engine.handle`, for the driver to carry out.

Theory of operation: the engine never does anything itself; it answers each
input with an ordered list of actions. A driver walks the list in order:

- :class:`Emit` — append ``event`` (a ``syncbench.trace/1`` dict) to the trace.
  Emits come before the action they describe (``sync_start`` before
  :class:`StartSync`), so a driver that writes the trace as it goes gets the
  file order right.
- :class:`StartSync` — ``POST /v1/sync`` with ``request`` as the JSON body;
  answer later with ``SyncResponse``/``SyncFailed`` carrying the same ``sync``.
- :class:`AbortSync` — drop the request in flight; any late answer is ignored.
- :class:`StartTransfer` / :class:`AbortTransfer` — run or stop one file
  transfer (``offset``: the engine's best knowledge of bytes already moved;
  an uploading driver may ask the server instead). Report with
  ``FileProgress``/``FileDone``. After an abort the engine has already emitted
  ``file_end``; late reports for that transfer are ignored.
- :class:`SetTimer` — feed ``Tick(now=deadline)`` at ``deadline`` (None: no
  timer). Only the latest ``SetTimer`` counts.
- :class:`ShowUnsent` / :class:`ShowLastSync` — what the user sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """Base of all actions."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Emit(Action):
    """A device trace event (spec/trace.md), ready to write."""

    event: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class StartSync(Action):
    """Send ``POST /v1/sync`` with ``request`` (device, cursor, mode, changes)."""

    sync: str
    trigger: str
    mode: str
    request: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class AbortSync(Action):
    """Abandon the sync request in flight."""

    sync: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StartTransfer(Action):
    """Upload (``dir="up"``, a photo; ``file`` is its change id) or download
    (``dir="down"``, an attachment of ``record``) a file through ``/v1/files/{file}``."""

    file: str
    dir: str
    bytes: int
    offset: int
    record: str
    sha256: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AbortTransfer(Action):
    """Stop the transfer of ``file`` now (bytes moved so far are kept for resume)."""

    file: str
    dir: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetTimer(Action):
    """Call ``handle(Tick(now=deadline))`` at ``deadline``; None cancels."""

    deadline: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowUnsent(Action):
    """Display ``n`` unsent changes (photos included)."""

    n: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowLastSync(Action):
    """Display the time of the last successful sync (None: never)."""

    at: float | None


ALL_ACTIONS = (Emit, StartSync, AbortSync, StartTransfer, AbortTransfer, SetTimer, ShowUnsent,
               ShowLastSync)


def maker(cls: type) -> Callable[..., Any]:
    """``cls``'s fields in order -> ``cls(**fields)``, for the engine's hot path.

    A frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__`` (about 630 ns for a ``StartSync``, one per sync of a
    fleet); this sets the slots through their own descriptors (about 270 ns).
    The object is the same: equal, frozen (tests/client: one per action).
    For a slotted input class it also skips ``__post_init__``'s checks: only
    for a driver whose values are valid by construction (the simulator's;
    tests/sim: each such input against its constructor).
    """
    names = [f.name for f in fields(cls)]
    env: dict[str, Any] = {"new": object.__new__, "cls": cls}
    lines = ["    o = new(cls)"]
    for i, name in enumerate(names):
        env[f"set{i}"] = getattr(cls, name).__set__
        lines.append(f"    set{i}(o, {name})")
    src = f"def make({', '.join(names)}):\n" + "\n".join(lines) + "\n    return o\n"
    exec(compile(src, f"<maker {cls.__name__}>", "exec"), env)  # noqa: S102 - built above
    return env["make"]
