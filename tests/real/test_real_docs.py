"""docs/real.md's tables agree with the code they describe."""

from __future__ import annotations

import re
from pathlib import Path

from bench.link.timescale import max_time_scale

DOC = Path(__file__).resolve().parents[2] / "docs" / "real.md"


def test_real_docs_largest_k_table_matches_the_proxy_limits() -> None:
    rows = re.findall(r"^\| ([a-z0-9, -]+) \| (\d+|any) \|$", DOC.read_text(), re.M)
    assert len(rows) >= 6
    for names, k in rows:
        for name in names.split(", "):
            want = max_time_scale(name)
            assert (k == "any" and want == float("inf")) or float(k) == want, (name, k, want)


def test_real_docs_list_every_real_suite_scenario() -> None:
    text = DOC.read_text()
    shipped = sorted(p.name for p in (DOC.parents[1] / "scenarios" / "real").glob("*.yaml"))
    assert shipped and all(f"`{name}`" in text for name in shipped)
