"""Toxics: one module per toxic, registered by name.

Theory of operation
-------------------
A toxic is two classes in one small module. Its *settings* (a frozen, slotted
dataclass) hold the attributes the HTTP API shows and validates; a client
update replaces them whole. Its *state* (one per connection and stream) holds
what that connection has used up: a bandwidth clock, a byte count, a timer.

The data path never sleeps inside a toxic. Every chunk read from a socket
carries the loop time at which it may leave the proxy (``ready_at``, the read
time to begin with). Each toxic, in creation order, moves that time later,
splits the chunk, drops it, or ends the stream, and returns at once; the
stream then writes chunks in FIFO order, each no earlier than its
``ready_at``::

    socket read ─► Chunk(data, ready_at=now) ─► toxic 1 ─► toxic 2 ─► … ─► FIFO ─► write at ready_at

Because the FIFO never reorders and a toxic only ever sees chunks in order,
adding or removing a toxic mid-connection cannot lose or reorder a byte: chunks
already queued keep the times the old chain gave them, new ones get the new
chain's. A chunk whose ``data`` is None is the end of the stream; a toxic sees
it through :meth:`ToxicState.eof`.

Slow toxics push back on the sender through :meth:`StreamControl.hold` (the
proxy stops reading the source until then), so nothing buffers without bound;
latency does not push back (upstream: "latency does not cap throughput").

Adding a toxic: write ``bench/link/proxy/toxics/<name>.py`` with a settings
class decorated ``@register("<name>")`` and its state class; see
docs/links.md, "Adding a toxic".
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import random
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Protocol

__all__ = [
    "TOXICS", "Chunk", "Settings", "StreamControl", "Toxic", "ToxicState", "InvalidAttribute",
    "register", "settings_class",
]


class Chunk:
    """A piece of one stream on its way through the toxics."""

    __slots__ = ("data", "ready_at")

    def __init__(self, data: bytes | None, ready_at: float) -> None:
        self.data = data  # None marks the end of the stream
        self.ready_at = ready_at

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        size = "EOF" if self.data is None else len(self.data)
        return f"Chunk({size}, ready_at={self.ready_at:.6f})"


class StreamControl(Protocol):
    """What a toxic state may ask of the stream it sits on."""

    rng: random.Random
    opened_at: float  # loop time the connection was accepted
    fresh: bool  # no data has come in on this stream yet

    def now(self) -> float: ...
    def call_later(self, delay: float, callback: Callable[[], None]) -> Any: ...
    def hold(self, until: float) -> None: ...
    def close(self) -> None: ...
    def reset(self) -> None: ...


# Upper bound on any attribute (ms, KB/s, bytes): a million seconds of latency or a
# petabyte a second is already "unbounded", and larger values (1e308, a 400-digit
# integer) only overflow the timers and pacing arithmetic they feed.
MAX_ATTRIBUTE = 10**12


class InvalidAttribute(ValueError):
    """An attribute value the toxic cannot take (becomes a 400 answer)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Validated attributes of a toxic. Subclasses add integer fields."""

    # Fields that may be fractional (an extension: upstream attributes are all integers).
    FRACTIONAL: ClassVar[frozenset[str]] = frozenset()
    # Fields upstream's toxic does not have: shown only when set, so an
    # unextended toxic looks exactly like upstream's.
    EXTENSIONS: ClassVar[frozenset[str]] = frozenset()
    STATE: ClassVar[type[ToxicState]]

    @classmethod
    def from_attributes(cls, attrs: dict[str, Any] | None, base: Settings | None = None) -> Settings:
        """Build settings from an API ``attributes`` object, over ``base`` if given.

        Keys match case-insensitively and unknown keys are ignored, as the
        upstream JSON decoder does; values must be non-negative integers.
        """
        if attrs is None:
            attrs = {}
        if not isinstance(attrs, dict):
            raise InvalidAttribute("attributes must be an object")
        fields = {f.name for f in dataclasses.fields(cls)}
        values = dataclasses.asdict(base) if base is not None else {}
        for key, value in attrs.items():
            name = str(key).lower()
            if name not in fields:
                continue
            numeric = type(value) is int or (name in cls.FRACTIONAL and type(value) is float)
            if not numeric:
                kind = "a number" if name in cls.FRACTIONAL else "an integer"
                raise InvalidAttribute(f"attribute {name!r} must be {kind}, got {value!r}")
            # NaN fails every comparison, so test for the valid range, not the invalid one:
            # a NaN rate once passed and stopped all traffic.
            if not 0 <= value <= MAX_ATTRIBUTE:
                raise InvalidAttribute(f"attribute {name!r} must be a finite number in "
                                       f"0..{MAX_ATTRIBUTE}, got {str(value)[:40]}")
            values[name] = value
        return cls(**values)

    def attributes(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items()
                if v or k not in self.EXTENSIONS}

    def new_state(self, control: StreamControl) -> ToxicState:
        return self.STATE(self, control)


class ToxicState:
    """Per-connection, per-stream state of one toxic. The default passes data through."""

    __slots__ = ("settings", "control")

    def __init__(self, settings: Settings, control: StreamControl) -> None:
        self.settings = settings
        self.control = control

    def data(self, chunk: Chunk) -> Iterable[Chunk]:
        """Chunks to pass on for one chunk in (same order, same bytes unless the toxic cuts)."""
        return (chunk,)

    def eof(self, at: float) -> float:
        """The time the end of stream may pass on, given the time it arrived here."""
        return at

    def start(self) -> None:
        """The toxic now applies to this stream (connection opened or toxic added)."""

    def updated(self, old: Settings) -> None:
        """``self.settings`` was replaced by a client update."""

    def stop(self) -> None:
        """The toxic was removed while the connection stays open."""

    def release(self) -> None:
        """The connection is closing: cancel timers, drop references."""


@dataclasses.dataclass(slots=True, kw_only=True)
class Toxic:
    """A toxic as the API sees it; ``settings`` is replaced on update."""

    name: str
    type: str
    stream: str
    toxicity: float
    settings: Settings

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": self.settings.attributes(),
        }


TOXICS: dict[str, type[Settings]] = {}


def register(name: str) -> Callable[[type[Settings]], type[Settings]]:
    """Class decorator: make a settings class available under a toxic type name."""

    def deco(cls: type[Settings]) -> type[Settings]:
        if name in TOXICS:
            raise ValueError(f"toxic type {name!r} registered twice")
        TOXICS[name] = cls
        return cls

    return deco


def settings_class(type_name: str) -> type[Settings] | None:
    return TOXICS.get(type_name)


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_discover()
