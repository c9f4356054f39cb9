"""bench.scenario.limits: sizes refused up front, per run or per shard."""

from bench.scenario import limits


def test_one_process_keeps_the_per_run_limits():
    assert limits.size_problem(100_000, 3600.0) is None
    said = limits.size_problem(100_001, 3600.0, devices="--devices")
    assert said == "--devices: 100,001 devices is over the limit of 100,000 per run"
    said = limits.size_problem(100_000, 30 * 3600.0, devices="--devices", duration="--hours")
    assert "3,000,000 device-hours is over the limit of 2,400,000 per run" in said


def test_shards_multiply_the_limits_up_to_the_fleet_cap():
    assert limits.size_problem(150_000, 24 * 3600.0, shards=2) is None
    said = limits.size_problem(250_000, 3600.0, devices="--devices", shards=2)
    assert said == ("--devices: 250,000 devices is over the limit of 200,000 for 2 shards "
                    "(100,000 a shard, 1,000,000 in all)")
    said = limits.size_problem(1_000_001, 3600.0, devices="--devices", shards=64)
    assert "over the limit of 1,000,000 for 64 shards" in said
    said = limits.size_problem(200_000, 30 * 3600.0, shards=2)
    assert "6,000,000 device-hours is over the limit of 4,800,000 for 2 shards" in said


def test_the_cli_names_the_sharded_limit(capsys):
    from bench.cli import main

    assert main(["simulate", "scenarios/planado-day.yaml", "--devices", "2000000",
                 "--shards", "8", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("syncbench simulate: error: --devices: 2,000,000 devices is over the limit "
                   "of 800,000 for 8 shards (100,000 a shard, 1,000,000 in all)")
