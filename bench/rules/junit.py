"""JUnit XML for rule verdicts: one testcase per rule, so CI shows rules as tests.

``fail`` becomes a <failure> listing every violation, ``n/a`` a <skipped>
whose message says why nothing was judged.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from bench.rules.base import FAIL, NA, RuleResult, fmt_t


def junit_xml(results: Sequence[RuleResult], *, suite: str, classname: str | None = None,
              time_s: float = 0.0) -> bytes:
    cls = classname or suite
    failures = sum(r.verdict == FAIL for r in results)
    skipped = sum(r.verdict == NA for r in results)
    root = ET.Element("testsuites")
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(results)),
                       failures=str(failures), errors="0", skipped=str(skipped), time=f"{time_s:.3f}")
    for r in results:
        tc = ET.SubElement(ts, "testcase", classname=cls, name=r.id, time="0")
        if r.verdict == FAIL:
            lines = [f"t={fmt_t(v.t)} dev={v.dev or '-'}: {v.message}" for v in r.violations]
            node = ET.SubElement(tc, "failure", message=f"{r.count} violation(s); first: {lines[0]}",
                                 type="RuleViolation")
            node.text = "\n".join(lines)
        elif r.verdict == NA:
            ET.SubElement(tc, "skipped", message=f"n/a: {r.why or 'the trace holds no instance this rule could judge'}")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
