"""One report per run: ``reports/run-<ts>/index.html``, ``junit.xml`` and ``summary.json``.

Theory of operation
-------------------
``syncbench run`` checks a suite of items (traces, simulated and real
scenarios), each with its own report folder. CI wants one place to look and
one file to ingest, so at the end of a run :func:`write_run_report` writes,
beside the items' folders:

- ``summary.json``: the run and every item -- holds its expectations or not,
  the unmet ones, verdict counts, failed rules, wall time, K, worst transfer
  drift, the capture's agreement when it ran, and the item report's path;
- ``junit.xml``: a ``testsuite`` per item and a ``testcase`` per rule. A
  testcase fails when the rule misses the item's expectation (a deliberately
  broken run *expected* to fail a rule is a passing test), is skipped on an
  unexpected n/a, and carries the violations as its text; an item that met
  its expectations but failed to run (an error line in ``unmet`` that names
  no rule) gets a testcase ``run`` failing with it;
- ``index.html``: a table of the items, the verdict first, each linking its
  own report; self-contained, no script.
"""

from __future__ import annotations

import html
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.rules.base import FAIL, NA, PASS, fmt_t
from bench.rules.expect import ItemResult

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d1d1f; }
header { padding: 18px 24px; color: #fff; }
header.ok { background: #1e7b34; } header.bad { background: #b3261e; }
header h1 { margin: 0 0 4px; font-size: 22px; }
main { padding: 16px 24px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #ddd; vertical-align: top; }
th { background: #f4f4f6; }
td.verdict { font-weight: 600; } tr.ok td.verdict { color: #1e7b34; } tr.bad td.verdict { color: #b3261e; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.unmet { color: #b3261e; margin: 2px 0; }
"""


def _counts(item: ItemResult) -> dict[str, int]:
    return {v: sum(r.verdict == v for r in item.results) for v in (PASS, FAIL, NA)}


def _item_summary(item: ItemResult, root: Path) -> dict[str, Any]:
    extra = item.extra or {}
    drift = extra.get("drift") or {}
    out: dict[str, Any] = {
        "name": item.name, "kind": item.kind, "policy": item.policy, "holds": item.holds,
        "unmet": list(item.unmet), "verdicts": _counts(item),
        "failed": sorted(r.id for r in item.results if r.verdict == FAIL),
        "seconds": round(item.seconds, 2),
        "report": (os.path.relpath(item.report_dir / "index.html", root)
                   if item.report_dir is not None else None),
    }
    if "time_scale" in extra:
        out["time_scale"] = extra["time_scale"]
    if drift.get("n"):
        out["drift"] = {"worst": drift.get("worst"), "mean": drift.get("mean"),
                        "n": drift["n"], "kept_up": drift.get("kept_up")}
    cap = extra.get("capture")
    if isinstance(cap, dict):
        out["capture"] = {"agree": cap.get("agree"), "flows": cap.get("flows"),
                          "disagreements": len(cap.get("disagreements") or ())}
    return out


def summary(items: Sequence[ItemResult], root: Path, *, wall_s: float) -> dict[str, Any]:
    return {"run": root.name, "holds": all(i.holds for i in items), "items": len(items),
            "held": sum(i.holds for i in items), "wall_s": round(wall_s, 2),
            "results": [_item_summary(i, root) for i in items]}


def run_junit(items: Sequence[ItemResult], *, run: str) -> bytes:
    """The merged JUnit XML of a run (see the module docs)."""
    root = ET.Element("testsuites", name=f"syncbench {run}")
    for item in items:
        expect = item.expect or {}
        suite_name = f"{item.name} ({item.kind})"
        cases: list[ET.Element] = []
        failures = skipped = 0
        for r in item.results:
            tc = ET.Element("testcase", classname=f"syncbench.{item.kind}.{item.name}",
                            name=r.id, time="0")
            want = expect.get(r.id)
            lines = [f"t={fmt_t(v.t)} dev={v.dev or '-'}: {v.message}" for v in r.violations]
            if (want is not None and r.verdict != want) or (want is None and r.verdict == FAIL):
                failures += 1
                first = lines[0] if lines else (r.why or "")
                node = ET.SubElement(tc, "failure", type="RuleVerdict",
                                     message=(f"expected {want}, got {r.verdict}" if want else
                                              f"{r.count} violation(s); first: {first}"))
                node.text = "\n".join(lines) or None
            elif r.verdict == NA and want is None:
                skipped += 1
                ET.SubElement(tc, "skipped", message=f"n/a: {r.why or 'nothing to judge'}")
            elif lines:  # an expected failure: the violations stay readable
                ET.SubElement(tc, "system-out").text = "\n".join(lines)
            cases.append(tc)
        rule_ids = {r.id for r in item.results}
        other = [u for u in item.unmet if u.split(":", 1)[0] not in rule_ids]
        if other:
            tc = ET.Element("testcase", classname=f"syncbench.{item.kind}.{item.name}",
                            name="run", time=f"{item.seconds:.3f}")
            node = ET.SubElement(tc, "failure", type="RunProblem", message=other[0])
            node.text = "\n".join(other)
            failures += 1
            cases.append(tc)
        ts = ET.SubElement(root, "testsuite", name=suite_name, tests=str(len(cases)),
                           failures=str(failures), errors="0", skipped=str(skipped),
                           time=f"{item.seconds:.3f}")
        ts.extend(cases)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def run_html(data: dict[str, Any]) -> str:
    e = html.escape
    ok = data["holds"]
    rows = []
    for it in data["results"]:
        v = it["verdicts"]
        drift = it.get("drift")
        drift_txt = (f"{drift['worst']:+.0%} worst of {drift['n']}" if drift and
                     drift.get("worst") is not None else "—")
        cap = it.get("capture")
        cap_txt = ("" if cap is None else
                   f"<br>capture: {'agrees' if cap['agree'] else str(cap['disagreements']) + ' differences'}")
        link = (f'<a href="{e(it["report"])}">{e(it["name"])}</a>' if it["report"]
                else e(it["name"]))
        unmet = "".join(f'<div class="unmet">{e(u)}</div>' for u in it["unmet"][:8])
        rows.append(
            f'<tr class="{"ok" if it["holds"] else "bad"}">'
            f'<td class="verdict">{"holds" if it["holds"] else "FAILS"}</td>'
            f"<td>{link}{unmet}</td><td>{e(it['kind'])}</td><td>{e(it['policy'])}</td>"
            f"<td>{e(', '.join(it['failed'])) or '—'}</td>"
            f'<td class="num">{v["pass"]} / {v["fail"]} / {v["n/a"]}</td>'
            f'<td class="num">{it["seconds"]:.1f} s</td>'
            f'<td class="num">{it.get("time_scale", "—")}</td><td>{drift_txt}{cap_txt}</td></tr>')
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>syncbench {e(data['run'])}</title>
<style>{STYLE}</style></head><body>
<header class="{'ok' if ok else 'bad'}"><h1 id="run-verdict">{'HOLDS' if ok else 'FAILS'}</h1>
<div>{e(data['run'])}: {data['held']}/{data['items']} items hold their expectations, {data['wall_s']:.0f} s</div></header>
<main><table id="items">
<thead><tr><th>verdict</th><th>item</th><th>kind</th><th>policy</th><th>failed rules</th>
<th>pass / fail / n/a</th><th>wall</th><th>K</th><th>drift</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
<p>JUnit: <a href="junit.xml">junit.xml</a> · data: <a href="summary.json">summary.json</a></p>
</main></body></html>
"""


def write_run_report(root: Path, items: Sequence[ItemResult], *, wall_s: float) -> Path:
    """Write index.html, junit.xml and summary.json into ``root``; returns index.html."""
    root.mkdir(parents=True, exist_ok=True)
    data = summary(items, root, wall_s=wall_s)
    (root / "summary.json").write_text(json.dumps(data, indent=1) + "\n")
    (root / "junit.xml").write_bytes(run_junit(items, run=root.name))
    index = root / "index.html"
    index.write_text(run_html(data), encoding="utf-8")
    return index
