"""Rule base class, verdicts and the registry.

Theory of operation
-------------------
A rule judges *instances* (rules.md, "Verdicts"): each ``push``, each idle
stretch, each photo. It sees the trace one event at a time through methods
named ``on_<kind>`` (``on_push``, ``on_sync_end``...), called after the shared
derived state (:mod:`bench.rules.state`) has taken the event in, so a handler
reads "the state at this event". Rules that wait for something ("within X s")
open a :class:`Window` with a deadline on the checker's clock; the checker
fires it once an event strictly later than the deadline arrives, so an event
exactly at the deadline still satisfies it ("``t <= t_E + X``"). A window still
open at the end of the trace is not judged ("cut short ... by the end of the
trace"). Two derived hooks spare every rule from re-deriving the same
condition: ``on_up(dev_state, t)`` when a device becomes online and running,
``on_down(dev_state, t)`` when it stops being either.

Cost: every handler runs for every event of its kind on every device, in
``syncbench check`` and in the simulator alike, so the hot ones stay lean. A
window is cheap when closed within its instant (it never reaches the clock's
heap); a rule whose waits are nearly all answered by the device's own next
event may keep a deadline per device instead and decide it lazily at that
event, as the clock would have (planado.cadence); a rule waiting for a
device's next sync subscribes that device (``DeviceState.sync_waiters``, as
respond() does) rather than handling every sync.

Each instance ends in :meth:`Rule.passed` or :meth:`Rule.fail`; the verdict is
``fail`` if any failed, ``pass`` if any was judged, else ``n/a``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from bench.rules.window import Window

if TYPE_CHECKING:
    from bench.rules.state import Context

PASS, FAIL, NA = "pass", "fail", "n/a"

# Violations kept per rule. "listing every violation" holds for any trace a
# person reads; past this many (a trace of a million events checked against
# the wrong policy) the list is cut, the count stays exact and --json says
# ``violations_total``, so memory stays bounded by the trace's devices, not
# by how badly it fails.
MAX_VIOLATIONS_KEPT = 10_000

# Default parameters, fixed by rules.md ("Default parameters").
DEFAULT_PARAMS: dict[str, float] = {
    "interval_s": 120,
    "cadence_tol_s": 10,
    "respond_s": 5,
    "manual_s": 2,
    "push_send_s": 5,
    "push_deliver_s": 5,
    "scope_slack_s": 5,
    "display_lag_s": 1,
    "slow_abort_s": 5,
    "files_s": 160,
    "text_ack_s": 160,
    "save_sync_s": 2,
    "save_ack_s": 30,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    t: float
    dev: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"t": self.t, "dev": self.dev, "message": self.message}


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleResult:
    id: str
    verdict: str
    judged: int
    violations: tuple[Violation, ...] = field(default_factory=tuple)
    # How many violations there were; more than len(violations) only when the
    # list was cut at MAX_VIOLATIONS_KEPT.
    failures: int = 0
    # Why nothing was judged (n/a only): one line for the console, reports and JUnit.
    why: str | None = None

    @property
    def count(self) -> int:
        """Violations in all, listed or not."""
        return max(self.failures, len(self.violations))

    @property
    def truncated(self) -> bool:
        return self.failures > len(self.violations)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "verdict": self.verdict,
            "violations": [v.as_dict() for v in self.violations],
        }
        if self.truncated:  # an extension of the check --json shape, present only when cut
            out["violations_total"] = self.failures
        if self.why is not None:  # an extension: why an n/a rule judged nothing
            out["why"] = self.why
        return out


class Rule:
    """Base class of a rule; subclasses set the class attributes and handlers."""

    id: ClassVar[str]
    title: ClassVar[str]
    # The sentence of the source document the rule enforces ("" for core rules
    # that state a property of any sync).
    source: ClassVar[str] = ""
    statement: ClassVar[str]
    params: ClassVar[tuple[str, ...]] = ()
    # Does the rule need events only the server can write (docs/rules.md's
    # column)? None: a device rule; False: a server rule the bench judges from
    # its own record; True: needs the server's trace.
    needs_server_trace: ClassVar[bool | None] = None
    # Why a trace gave the rule nothing to judge, when it did (see na_reason).
    why_na: ClassVar[str] = "the trace holds no instance this rule judges"

    def __init__(self, ctx: Context, values: dict[str, float]) -> None:
        self.ctx = ctx
        self.p = {name: values[name] for name in self.params}
        self.judged = 0
        self.failures = 0
        self.violations: list[Violation] = []

    # -- instance bookkeeping ---------------------------------------------
    def passed(self, n: int = 1) -> None:
        self.judged += n

    def fail(self, t: float, dev: str | None, message: str) -> None:
        self.judged += 1
        self.failures += 1
        if len(self.violations) < MAX_VIOLATIONS_KEPT:
            self.violations.append(Violation(t=t, dev=dev, message=message))

    def window(self, dev: str | None, deadline: float, on_expire: Callable[[Window], None], data: Any = None) -> Window:
        w = Window(dev, deadline, on_expire, data)
        self.ctx.schedule(w)
        return w

    # -- lifecycle ----------------------------------------------------------
    def finish(self, end_t: float | None) -> None:
        """Called once at the end of the trace (``end_t``: last known event's t)."""

    def na_reason(self) -> str:
        """One line: why nothing was judged ("an unjudged rule says why")."""
        return self.why_na

    def result(self) -> RuleResult:
        why = None
        if self.violations:
            verdict = FAIL
        elif self.judged:
            verdict = PASS
        else:
            verdict = NA
            why = self.na_reason()
        # Rules find some violations late (at a deadline, at the end): list them in time order.
        ordered = tuple(sorted(self.violations, key=lambda v: (v.t, v.dev or "")))
        return RuleResult(id=self.id, verdict=verdict, judged=self.judged, violations=ordered,
                          failures=self.failures, why=why)


REGISTRY: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Class decorator: add a rule to the registry under its id."""
    if cls.id in REGISTRY:
        raise ValueError(f"rule {cls.id!r} registered twice")
    unknown = set(cls.params) - set(DEFAULT_PARAMS)
    if unknown:
        raise ValueError(f"rule {cls.id!r} uses unknown parameters {sorted(unknown)}")
    REGISTRY[cls.id] = cls
    return cls


def fmt_t(t: float) -> str:
    """A time for messages: integers without a fraction, others to 3 places."""
    return f"{t:g}" if float(t).is_integer() else f"{t:.3f}".rstrip("0")
