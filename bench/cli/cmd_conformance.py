"""``syncbench conformance URL --token ADMIN``: the protocol conformance suite as a command.

Theory of operation: runs :func:`bench.testing.conformance.run_conformance`
against a server that speaks docs/protocol.md (the reference server, or a
team's own), prints one line per named check, and writes ``--json`` /
``--junit`` files for CI. Exit 0 when every check passes, 1 when any fails or
errors, 2 when the server cannot be reached or the flags are wrong.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "conformance", help="check a sync server against the protocol, guarantee by guarantee",
        description="Run every guarantee of docs/protocol.md as a named check against URL "
                    "(black-box: HTTP and the push WebSocket only).")
    p.add_argument("url", help="the server's base URL, e.g. http://127.0.0.1:8000")
    p.add_argument("--token", required=True, help="the server's admin token (provisions test users)")
    p.add_argument("--only", action="append", default=None, metavar="CHECK",
                   help="run only this check (repeatable)")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON ('-' for stdout)")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML (a testcase per check)")
    p.set_defaults(func=run)


def junit(results, *, suite: str) -> bytes:
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites")
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(results)),
                       failures=str(sum(r.status == "fail" for r in results)),
                       errors=str(sum(r.status == "error" for r in results)), skipped="0",
                       time=f"{sum(r.seconds for r in results):.3f}")
    for r in results:
        tc = ET.SubElement(ts, "testcase", classname="conformance", name=r.name,
                           time=f"{r.seconds:.3f}")
        if r.status != "pass":
            node = ET.SubElement(tc, "failure" if r.status == "fail" else "error",
                                 message=r.failures[0][:300] if r.failures else r.status,
                                 type=r.guarantee)
            node.text = f"guarantee: {r.guarantee}\nfault: {r.fault}\n" + "\n".join(r.failures)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path
    from urllib.parse import urlsplit

    import httpx
    import orjson

    from bench.cli import UsageError
    from bench.testing.conformance import CHECKS, run_conformance

    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"URL must be http(s)://host:port, got {args.url!r}")
    names = {c.name for c in CHECKS}
    for n in args.only or ():
        if n not in names:
            raise UsageError(f"--only {n!r}: no such check; one of: {', '.join(sorted(names))}")
    try:
        r = httpx.get(args.url.rstrip("/") + "/v1/health", timeout=10)
    except httpx.HTTPError as exc:
        raise UsageError(f"{args.url}: cannot reach the server ({type(exc).__name__}: {exc})") from None
    if r.status_code != 200:
        raise UsageError(f"{args.url}: GET /v1/health answered {r.status_code}, not 200")
    only = set(args.only) if args.only else None
    results = run_conformance(args.url, admin_token=args.token,
                              only=(lambda n: n in only) if only else None)
    width = max(len(r.name) for r in results)
    for r in results:
        print(f"{r.status.upper():5} {r.name:<{width}}  {r.guarantee}")
        for f in r.failures[:5]:
            print(f"      - {f}")
    bad = [r for r in results if not r.ok]
    print(f"{len(results) - len(bad)}/{len(results)} checks pass against {args.url}")
    doc = {"url": args.url, "ok": not bad, "checks": [r.as_dict() for r in results]}
    if args.json == "-":
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif args.json:
        Path(args.json).write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    if args.junit:
        Path(args.junit).write_bytes(junit(results, suite=f"conformance {args.url}"))
    return 1 if bad else 0
