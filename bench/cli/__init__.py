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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    args = parser.parse_args(argv)
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
