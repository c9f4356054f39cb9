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
    out.append("| id | title | parameters |\n|---|---|---|")
    for rid in sorted(REGISTRY):
        cls = REGISTRY[rid]
        params = ", ".join(f"`{p}`" for p in cls.params) or "—"
        out.append(f"| [`{rid}`](#{rid.replace('.', '')}) | {cls.title} | {params} |")
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
