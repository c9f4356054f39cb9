"""The scenario suite behind ``syncbench run``: items, expectations, summary.

Theory of operation: a suite is a list of *items* found in the paths given
(default: ``scenarios/``): recorded traces (``*.jsonl``) are checked as they
are; scenario files (``*.yaml``) are run, in simulation or for real, and their
trace checked. Every item carries expectations — a trace in its meta line's
``expect`` field, a scenario in its ``expect:`` key — mapping rule ids to the
verdict they must get; a rule not named must not fail. An item *holds* when
every expectation is met, and the suite passes when every item holds, so a
suite may (and should) contain deliberately broken runs that must be caught.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from bench.rules import RuleResult
from bench.rules.checker import NoPolicyError
from bench.rules.checker import check_trace_file as check_file
from bench.rules.expect import ItemResult, unmet

VERDICTS = ("pass", "fail", "n/a")


class SuiteError(ValueError):
    """A suite item that cannot be run: bad path, file or expectation."""


def unmet_expectations(results: Iterable[RuleResult], expect: dict[str, str]) -> tuple[str, ...]:
    """Each expectation not met (:func:`bench.rules.expect.unmet`)."""
    return unmet(results, expect)


def validate_expect(expect: Any, where: str) -> dict[str, str]:
    if expect is None:
        return {}
    if not isinstance(expect, dict):
        raise SuiteError(f"{where}: expect must be a mapping of rule id to verdict")
    for rid, verdict in expect.items():
        if verdict not in VERDICTS:
            raise SuiteError(f"{where}: expect.{rid}: verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
    return dict(expect)


def check_trace_file(path: Path, policy: str | None = None, *,
                     also: Sequence[Callable[[dict[str, Any]], Any]] = ()
                     ) -> tuple[str, list[RuleResult], dict[str, Any]]:
    """:func:`bench.rules.check_trace_file`, a trace naming no policy being a SuiteError."""
    try:
        return check_file(path, policy, also=also)
    except NoPolicyError as exc:
        raise SuiteError(str(exc)) from None


def run_trace_item(path: Path, out_root: Path | None) -> ItemResult:
    started = time.perf_counter()
    policy, results, meta = check_trace_file(path)
    expect = validate_expect(meta.get("expect"), f"{path}: meta")
    report_dir = None
    if out_root is not None:
        report_dir = write_item_report(out_root / path.stem, path, policy, results, meta)
    return ItemResult(name=path.name, kind="trace", policy=policy, results=tuple(results), expect=expect,
                      unmet=unmet_expectations(results, expect), report_dir=report_dir,
                      seconds=time.perf_counter() - started)


def write_item_report(out_dir: Path, trace: Path, policy: str, results: Sequence[RuleResult],
                      meta: dict[str, Any], **kw: Any) -> Path:
    """The one report writer (:func:`bench.report.write.write_check_report`)."""
    from bench.report.write import write_check_report

    return write_check_report(out_dir, trace, policy, results, meta, **kw)


def collect(paths: Sequence[str | Path]) -> list[Path]:
    """Items under the given files and folders, in a stable order."""
    items: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(p.glob("*.yaml")) + sorted(p.glob("traces/*.jsonl")) + sorted(p.glob("*.jsonl"))
            if not found:
                raise SuiteError(f"{p}: no scenarios (*.yaml) or traces (*.jsonl) in this folder")
            items += found
        elif p.is_file():
            if p.suffix not in (".yaml", ".yml", ".jsonl"):
                raise SuiteError(f"{p}: not a scenario (.yaml) or a trace (.jsonl)")
            items.append(p)
        else:
            raise SuiteError(f"{p}: no such file or folder")
    return items




def summary_table(items: Sequence[ItemResult]) -> str:
    lines = []
    width = max((len(i.name) for i in items), default=8)
    for it in sorted(items, key=lambda i: (i.holds, i.name)):
        counts = {v: sum(r.verdict == v for r in it.results) for v in VERDICTS}
        tag = "OK  " if it.holds else "FAIL"
        lines.append(f"  {tag}  {it.name:<{width}}  {it.kind:<5} {it.policy:<10} "
                     f"{counts['pass']:>2} pass {counts['fail']:>2} fail {counts['n/a']:>2} n/a   {it.seconds:6.1f} s")
        for u in it.unmet:
            lines.append(f"          {u}")
        if it.report_dir is not None:
            lines.append(f"          report: {it.report_dir / 'index.html'}")
    held = sum(i.holds for i in items)
    lines.append(f"{held}/{len(items)} items hold their expectations")
    return "\n".join(lines)
