"""Rebuild a report directory from its ``trace.jsonl`` (``syncbench report DIR``).

Theory of operation: the trace is re-checked, streaming, with the policy
given, else the one its meta names, else the one ``run.json`` recorded; the
scenario, seed, series and run facts the original run handed to
``write_report`` come back from ``run.json`` (they are not in the trace).
Then :func:`~bench.report.write.write_report` writes every file again, so a
report made by a newer bench, or after a rule fix, is one command away.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from bench.report.write import RUN_NAME, TRACE_NAME, write_report


class ReportError(ValueError):
    """A report directory that cannot be used; the message is one line naming the file."""


def load_run(out_dir: Path) -> dict[str, Any]:
    """``run.json`` of a report directory, or {} when there is none (a bare trace directory)."""
    path = out_dir / RUN_NAME
    if not path.exists():
        return {}
    try:
        run = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ReportError(f"{path}: not readable JSON ({_why(exc)})") from None
    if type(run) is not dict:
        raise ReportError(f"{path}: must hold a JSON object")
    for key, typ in (("series", dict), ("extra", dict)):
        if run.get(key) is not None and type(run[key]) is not typ:
            raise ReportError(f"{path}: {key!r} must be an object")
    return run


def _why(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc).split(":")[0]


def rebuild_report(out_dir: str | Path, *, policy: Any = None) -> tuple[Path, list]:
    """Re-check ``out_dir/trace.jsonl`` and rewrite the report; return (index.html, results).

    ``policy``: a :class:`~bench.rules.Policy`, a policy name, or None (the
    trace meta's policy, else run.json's). Raises :class:`ReportError` for an
    unusable directory and :class:`bench.trace.TraceError` for a malformed trace.
    """
    from bench.rules import Checker, PolicyError, get_policy
    from bench.trace import TraceReader

    out = Path(out_dir)
    if not out.is_dir():
        raise ReportError(f"{out}: not a directory")
    trace = out / TRACE_NAME
    if not trace.is_file():
        raise ReportError(f"{out}: no {TRACE_NAME} in it (not a report directory)")
    run = load_run(out)
    reader = TraceReader(trace)
    events = iter(reader)
    first = next(events, None)  # reads the meta line too
    if policy is None or isinstance(policy, str):
        name = policy or (reader.meta or {}).get("policy") or run.get("policy")
        if not name:
            raise ReportError(f"{trace}: no policy: give --policy (neither the trace meta nor {RUN_NAME} names one)")
        try:
            policy = get_policy(str(name))
        except PolicyError as exc:
            raise ReportError(str(exc)) from None
    try:
        checker = Checker(policy, meta=reader.meta)
    except PolicyError as exc:
        raise ReportError(f"{trace}: {exc}") from None
    if first is not None:
        checker.feed(first)
        checker.feed_all(events)
    results = checker.finish()
    index = write_report(out, trace_path=trace, policy=policy.name, results=results,
                         scenario=run.get("scenario"), seed=run.get("seed"),
                         series=run.get("series"), extra=run.get("extra"))
    return index, results
