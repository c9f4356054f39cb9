"""Flags that size work are bounded and checked before any work; durations take Locust's forms.

"a fleet size or --hours that cannot fit in memory or time is refused up front
with the limit named (today `link mobility --hours 1e9` and `fleet.size:
100000000` run until memory runs out)".
"""

from __future__ import annotations

import argparse

import pytest

from bench.cli import EXIT_USAGE, duration_arg, main

SCENARIO = "scenarios/planado-day.yaml"


def one_line_error(argv, capsys) -> str:
    """Run the CLI; it must end with exit 2 and exactly one line on stderr."""
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("argv,want", [
    (["simulate", SCENARIO, "--devices", "100000000"],
     "--devices: 100,000,000 devices is over the limit of 100,000 per run"),
    (["simulate", SCENARIO, "--hours", "1e9"], "--hours: 1e+09 h is over the limit of 168 h"),
    (["simulate", SCENARIO, "--devices", "90000", "--hours", "100"], "device-hours"),
    (["simulate", SCENARIO, "--hours", "nan"], "--hours: must be positive, got nan"),
    (["simulate", SCENARIO, "--hours", "inf"], "--hours: must be positive, got inf"),
    (["simulate", SCENARIO, "--devices", "0"], "--devices: must be positive"),
    (["simulate", SCENARIO, "--seed", str(2**64)], "--seed: must be 0..2**63-1"),
    (["simulate", SCENARIO, "--seed", "-1"], "--seed: must be 0..2**63-1"),
    (["run", "--mode", "sim", SCENARIO, "--seed", "9" * 30], "--seed: must be 0..2**63-1"),
    (["link", "mobility", "urban", "--seed", "1", "--hours", "1e9"],
     "--hours 1e+09 is over the limit of 168 h"),
    (["link", "mobility", "urban", "--seed", "1", "--hours", "-1"], "--hours: must be positive"),
    (["toxiproxy", "serve", "--seed", str(2**70)], "--seed: must be 0..2**63-1"),
    (["load", "--devices", "1000000"], "--devices 1,000,000 is over the limit of 100,000"),
    (["load", "--duration", "1h30x"], "expected seconds or a duration like 15s, 2m or 1h30m"),
    (["load", "--duration", "nan"], "expected seconds or a duration"),
    (["load", "--duration", "2d"], "--duration 172800 is over the limit of 86400"),
    (["load", "--time-scale", "1e9"], "--time-scale 1e+09 is over the limit"),
    (["load", "--photo-bytes", str(2**30)], "over the protocol's limit of 536,870,912 bytes"),
    (["load", "--find-capacity", "--p99-ms", "100", "--max-devices", "10000000"],
     "--max-devices 10,000,000 is over the limit of 100,000"),
    (["load", "--find-capacity", "--p99-ms", "100", "--step-duration", "0s"],
     "--step-duration: must be positive"),
])
def test_oversized_or_malformed_flags_are_one_line_exit_2(argv, want, capsys, tmp_path):
    line = one_line_error([*argv, *(["--out", str(tmp_path)] if argv[0] in ("load",) else [])],
                          capsys)
    assert want in line, line


@pytest.mark.parametrize("text,seconds", [
    ("90", 90.0), ("2.5", 2.5), ("15s", 15.0), ("2m", 120.0), ("1h", 3600.0),
    ("1h30m", 5400.0), ("1h30m15s", 5415.0), ("2m15s", 135.0), ("1d2h", 93600.0), ("0.5h", 1800.0),
])
def test_durations_take_seconds_and_locust_forms(text, seconds):
    assert duration_arg(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "1x", "30m1h", "1hh", "-5", "0", "nan", "inf", "1e999"])
def test_bad_durations_are_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        duration_arg(text)
