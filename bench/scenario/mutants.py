"""Server-side mutants: deliberately broken servers and push services, by name.

They live with the scenario format because a scenario names them
(`server.mutant`, `push.mutant`); the simulator reads their flags.

Theory of operation: the device engine's mutants (``reference_client.mutants``)
break client rules; the rules about the server and the push service need a
broken server or push service instead. Each mutant here is the true server
model (:mod:`bench.sim.server`) or push service (:mod:`bench.sim.push`) with
one behaviour turned, named and registered with the rule it must break, the
same way as the client registry (``rule``, ``doc``, ``also``). ``selftest``
runs each in a scenario built to exercise its rule and expects that rule to
fail; the true server (:data:`TRUE_SERVER`) must pass every rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# srv_skips_push: "no push on some dispatch" -- status changes, one of the
# cases the Planado help names ("status updated to Started, En route...").
SKIPPED_PUSH_OPS = frozenset({"status"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerMutant:
    name: str
    rule: str | None = None
    doc: str = ""
    also: tuple[str, ...] = ()
    skip_push_ops: frozenset[str] = field(default_factory=frozenset)
    push_wrong_device: bool = False
    push_drop: bool = False
    push_to_offline: bool = False
    leak_scope: bool = False
    apply_twice: bool = False
    lose_update: bool = False

    def push_targets(self, op: str, assignee: str, devices: tuple[str, ...]) -> list[str]:
        """The devices a dispatch on a record of ``assignee`` pushes to."""
        if op in self.skip_push_ops:
            return []
        if self.push_wrong_device and len(devices) > 1:
            i = devices.index(assignee) if assignee in devices else -1
            return [assignee, devices[(i + 1) % len(devices)]]
        return [assignee]


TRUE_SERVER = ServerMutant(name="true", doc="the reference semantics")

SERVER_MUTANTS: dict[str, ServerMutant] = {}


def _mutant(m: ServerMutant) -> None:
    SERVER_MUTANTS[m.name] = m


_mutant(ServerMutant(name="srv_skips_push", rule="planado.push_sent",
                     doc="no push when the dispatcher changes a job's status",
                     skip_push_ops=SKIPPED_PUSH_OPS))
_mutant(ServerMutant(name="push_drops", rule="planado.push_delivered",
                     doc="the push service drops every push", push_drop=True))
_mutant(ServerMutant(name="push_wrong_device", rule="planado.push_scope",
                     doc="each push also goes to the next device of the fleet",
                     push_wrong_device=True, also=("planado.push_sync",)))
_mutant(ServerMutant(name="push_to_offline", rule="planado.offline_no_push",
                     doc="the push service delivers to offline devices", push_to_offline=True))
_mutant(ServerMutant(name="srv_leaks_scope", rule="core.scope",
                     doc="a sync answer carries a changed record of another worker",
                     leak_scope=True, also=("core.converge", "playmaker.manual_pulls_all")))
_mutant(ServerMutant(name="srv_applies_twice", rule="core.exactly_once",
                     doc="a retried change id is applied again", apply_twice=True,
                     also=("core.converge",)))
_mutant(ServerMutant(name="srv_loses_update", rule="core.converge",
                     doc="a device's change is acked but never stored", lose_update=True,
                     also=("playmaker.manual_pulls_all",)))


def get_server_mutant(name: str | None) -> ServerMutant:
    if name is None or name == TRUE_SERVER.name:
        return TRUE_SERVER
    try:
        return SERVER_MUTANTS[name]
    except KeyError:
        raise ValueError(f"unknown server mutant {name!r}; known: "
                         f"{', '.join(sorted(SERVER_MUTANTS))}") from None


def mutants_table() -> str:
    """The Markdown table of docs/simulation.md, generated from the registry."""
    rows = ["| mutant | breaks | may also break | what it does |", "|---|---|---|---|"]
    for m in SERVER_MUTANTS.values():
        rows.append(f"| `{m.name}` | {m.rule} | {', '.join(m.also) or '—'} | {m.doc} |")
    return "\n".join(rows) + "\n"
