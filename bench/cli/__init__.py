"""The ``syncbench`` command line.

Theory of operation: every sub-command lives in its own module
``bench/cli/cmd_<name>.py`` exposing ``register(subparsers)``, which adds the
parser and sets ``func`` to a callable ``func(args) -> int``. Modules are
discovered here, so adding a command is adding one file. Command modules keep
heavy imports inside ``func`` so that ``syncbench --help`` stays fast.

Errors the user can fix are raised as :class:`UsageError` and end as one line
on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import tempfile
from pathlib import Path

from bench import __version__

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


def writable_dir(path: str | os.PathLike, flag: str) -> Path:
    """``path`` created (with parents) and proven writable, or a :class:`UsageError`.

    Checked before any work starts, so a bad ``--out`` costs nothing: "Bad
    input ... gets a clear one-line error naming what and where ... and loses
    nothing".
    """
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".syncbench-probe-"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if isinstance(exc, (FileExistsError, NotADirectoryError)):
            reason = "not a directory" if out.exists() else "a parent is not a directory"
        raise UsageError(f"{flag} {path}: cannot write reports there ({reason})") from None
    return out


class ArgumentError(Exception):
    """A flag argparse refused; ``main`` prints it as one line, exit status 2."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class Parser(argparse.ArgumentParser):
    """argparse's parser, but a refused flag is one line (no usage block) and a
    return value of 2, like every other bad input; ``--help`` is unchanged."""

    def error(self, message: str):  # type: ignore[override]
        if message.endswith("expected one argument"):
            # A value that starts with "-" (a URL-safe token does one time in
            # 64) reads as a flag: say how to give it.
            flag = message.removeprefix("argument ").split(":")[0].split("/")[-1]
            message += f" (a value that starts with '-' goes as {flag}=VALUE)"
        raise ArgumentError(self.prog, message)


def seed_arg(text: str) -> int:
    """argparse type of every ``--seed``: an integer 0..2**63-1 (traces hold it as
    a 64-bit JSON integer)."""
    from bench.scenario.limits import MAX_SEED

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text[:40]!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be 0..2**63-1, got {text[:40]}")
    return value


def duration_arg(text: str) -> float:
    """argparse type of every duration flag: seconds, or ``15s``, ``2m``, ``1h30m``,
    ``1d`` (Locust's forms); positive and finite."""
    from bench.scenario.load import parse_duration

    value = parse_duration(text)
    if value is None:
        raise argparse.ArgumentTypeError(
            f"expected seconds or a duration like 15s, 2m or 1h30m, got {text[:40]!r}")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text[:40]!r}")
    return value


def positive_arg(kind: type) -> object:
    """argparse type of a positive, finite ``int`` or ``float`` (``--hours``, ``--devices``)."""
    import math

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"got {text[:40]!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"must be positive, got {text[:40]}")
        return value

    parse.__name__ = kind.__name__
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="syncbench",
        description="A test bench for mobile sync over bad links.",
    )
    parser.add_argument("--version", action="version", version=f"syncbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except ArgumentError as exc:
        print(f"{exc.prog}: error: {exc} (see {exc.prog} --help)", file=sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"syncbench {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("syncbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``syncbench check x | head``): not an error of ours.
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
