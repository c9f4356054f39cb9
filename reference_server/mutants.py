"""Deliberately broken servers: one protocol guarantee switched off each.

Theory of operation: ``serve --mutant NAME`` (``ServerConfig.mutant``) starts
the reference server with one realistic bug, the kind a team's own server
ships. The bench proves its black-box checks are not empty by running each
mutant as a *target* -- no server trace, only the bench's own record -- and
requiring the rule named here to fail, and the conformance suite's named check
to fail too, while the true server passes both (tests/real/test_real_server_mutants.py,
tests/testing/test_conformance.py). The core and the push hub ask
:func:`has` at the one place each guarantee lives; the true server pays a
frozenset lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reference_server.store import AppliedChange


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerMutant:
    name: str
    doc: str  # the bug, as a bug report would say it
    rule: str  # the rule that catches it black-box in a real run
    check: str  # the conformance check that catches it


SERVER_MUTANTS: dict[str, ServerMutant] = {m.name: m for m in (
    ServerMutant(name="applies_retries", rule="core.exactly_once", check="exactly_once_retry",
                 doc="a change id seen before is applied again (a retry after a lost answer "
                     "bumps the version twice)"),
    ServerMutant(name="applies_first_of_batch", rule="core.no_loss", check="batch_acks",
                 doc="a sync with several changes applies only the first, but acks them all"),
    ServerMutant(name="replaces_fields", rule="core.no_loss", check="field_merge",
                 doc="a text change replaces the record's fields instead of merging into them"),
    ServerMutant(name="refuses_stale", rule="core.no_loss", check="stale_applies",
                 doc="a change on a stale base version is refused instead of applied "
                     "(last writer wins)"),
    ServerMutant(name="leaks_scope", rule="core.scope", check="scope",
                 doc="a sync returns every changed record, not only the device's"),
    ServerMutant(name="skips_web_edits", rule="core.converge", check="cursor_sees_web_edits",
                 doc="a dispatcher's field edit does not move the sync cursor: devices "
                     "never receive it"),
    ServerMutant(name="keeps_removed", rule="core.converge", check="removals",
                 doc="`removed` is always empty: an unassigned job stays on the device"),
    ServerMutant(name="no_files_listed", rule="planado.fast_files", check="files_listed",
                 doc="sync answers list no attached files: devices never download them"),
    ServerMutant(name="no_push_on_status", rule="planado.push_sent", check="push_every_kind",
                 doc="a status change in the web application pushes nothing"),
    ServerMutant(name="no_unassign_push", rule="planado.push_delivered", check="push_every_kind",
                 doc="reassigning a job does not tell the previous assignee"),
    ServerMutant(name="pushes_everyone", rule="planado.push_scope", check="push_scope",
                 doc="every push goes to every connected device"),
)}


def check_name(name: str | None) -> str | None:
    """``name`` if it is a known mutant (None stays None); else ValueError naming the choices."""
    if name is None or name in SERVER_MUTANTS:
        return name
    raise ValueError(f"unknown server mutant {name!r}; one of: {', '.join(sorted(SERVER_MUTANTS))}")


class Bugs:
    """The one mutant a server runs with (or none): ``bugs.has("leaks_scope")``."""

    __slots__ = ("_on",)

    def __init__(self, name: str | None) -> None:
        self._on = frozenset({check_name(name)} - {None})

    def has(self, name: str) -> bool:
        return name in self._on


def acked_unapplied(store: Any, device: str, c: Any) -> AppliedChange:
    """Mutant ``applies_first_of_batch``: an ack as if applied, nothing written."""
    rec = store.get_record(c.record)
    return AppliedChange(device=device, change=c.change, record=c.record,
                         version=rec.version if rec is not None else 1, conflict=None, error=None)
