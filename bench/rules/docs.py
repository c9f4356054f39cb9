"""Generate ``docs/rules.md`` from the rule registry (a test fails when it is stale).

    python -m bench.rules.docs > docs/rules.md
"""

from __future__ import annotations

from bench.rules import DEFAULT_PARAMS, REGISTRY, builtin_policies

HEADER = """\
# Rule catalogue

Generated from the rule registry (`bench/rules/`) by `python -m bench.rules.docs`;
do not edit by hand. The exact semantics are those of the bench's rule
specification; each rule below is one module under `bench/rules/`.

Verdicts: a rule judges *instances* (every `push`, every idle stretch...) and
says `fail` if any instance fails (listing every violation), `pass` if at least
one was judged and none failed, and `n/a` if the trace holds no instance it
could judge. An instance still unsatisfied when its window is cut short (end of
trace, device offline, app closed) is not judged.
"""


NEEDS = """\
"Needs server trace": whether the rule can be judged on a team's own server,
which writes no trace of ours. Every rule can: device rules read the devices'
events, and the server rules have a black-box form judged from what the bench
itself sent and saw -- the dispatcher's operations (`dispatch`, written by the
real runner), what reached each device (`push`, `recv`, `ack` with its
`version`, `push_channel`), and every record read back through the server's
API at the end (`srv_record`, `srv_snapshot`). Each rule's text below says
which form applies when. A rule that still judges nothing says why (`why` in
`check --json`, the reports' verdict table, JUnit's `skipped` message).
"""


def render() -> str:
    out = [HEADER]
    pols = builtin_policies()
    out.append("## Policies\n")
    out.append("| policy | rules |\n|---|---|")
    for name, pol in pols.items():
        out.append(f"| `{name}` | {len(pol.rules)}: " + ", ".join(f"`{r}`" for r in pol.rules) + " |")
    out.append("\n## Parameters\n")
    out.append("| name | default | used by |\n|---|---|---|")
    for name, value in DEFAULT_PARAMS.items():
        users = ", ".join(f"`{rid}`" for rid, cls in REGISTRY.items() if name in cls.params)
        out.append(f"| `{name}` | {value} | {users} |")
    out.append("\n## Rules\n")
    out.append(NEEDS)
    out.append("| id | title | parameters | needs server trace |\n|---|---|---|---|")
    for rid in sorted(REGISTRY):
        cls = REGISTRY[rid]
        params = ", ".join(f"`{p}`" for p in cls.params) or "—"
        needs = {None: "no (device events)", False: "no (the bench's own record suffices)",
                 True: "yes"}[cls.needs_server_trace]
        out.append(f"| [`{rid}`](#{rid.replace('.', '')}) | {cls.title} | {params} | {needs} |")
    for rid in sorted(REGISTRY):
        cls = REGISTRY[rid]
        out.append(f"\n### {rid}\n")
        out.append(f"**{cls.title}.** Module: `bench/rules/{rid.replace('.', '_')}.py`.\n")
        if cls.source:
            out.append(f"Source: {cls.source}\n")
        out.append(cls.statement)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
