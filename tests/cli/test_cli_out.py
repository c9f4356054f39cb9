"""A report directory that cannot be written is refused before any work starts.

"an unwritable or file ``--out`` in ``run`` (every mode) → four chained
tracebacks": each command that writes reports now checks ``--out`` up front and
ends with one line naming the flag, the path and why, exit 2.
"""

from __future__ import annotations

import pytest

from bench.cli import EXIT_USAGE, main


@pytest.fixture
def a_file(tmp_path):
    f = tmp_path / "not-a-dir"
    f.write_text("x")
    return f


CASES = [
    ["run", "--mode", "real"],
    ["run", "--mode", "sim"],
    ["run", "--mode", "both"],
    ["load"],
    ["load", "--find-capacity", "--p99-ms", "100"],
]


@pytest.mark.parametrize("argv", CASES, ids=[" ".join(c) for c in CASES])
@pytest.mark.parametrize("under", [False, True], ids=["file", "under-a-file"])
def test_out_that_cannot_be_written_is_one_line_exit_2(argv, under, a_file, capsys):
    out = a_file / "sub" if under else a_file
    assert main([*argv, "--out", str(out)]) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"--out {out}: cannot write reports there" in err
    assert ("a parent is not a directory" if under else "not a directory") in err
    assert a_file.read_text() == "x"  # nothing lost


def test_writable_out_is_created_and_left_clean(tmp_path):
    from bench.cli import writable_dir

    out = writable_dir(tmp_path / "a" / "b", "--out")
    assert out.is_dir() and list(out.iterdir()) == []
