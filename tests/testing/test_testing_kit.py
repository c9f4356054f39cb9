"""The public testing kit: check_server, check_proxy and check_client find what is wrong.

check_client is pointed at the reference client (a driver a team's own would
replace) and at its deliberately broken mutants: the clean driver passes every
judged rule of its policy, and each mutant is caught by its rule, so the check
is not empty.
"""

from __future__ import annotations

import sys

import pytest

from bench.link.proxy import ProxyServerThread
from bench.testing import REFERENCE_CLIENT, check_client, check_proxy, check_server
from reference_client.mutants import MUTANTS
from reference_server.testing import running_server

# The default scripts last 150-360 spec s: 5-12 wall seconds at K = 30, where the
# cadence tolerance (10 spec s) is a third of a wall second: room for a loaded
# machine's late timers (the real-client rule tests run at K = 10 for the same reason).
K = 30.0


@pytest.mark.parametrize("policy", ["planado", "playmaker"])
def test_the_reference_client_passes_its_policy(policy, tmp_path):
    res = check_client(policy=policy, time_scale=K, workdir=tmp_path)
    assert res.ok, res.failures
    judged = {r.id for r in res.results if r.verdict == "pass"}
    # The script exercises what the policy promises, not only the always-true rules.
    want = ({"planado.sync_on_status", "planado.slow_no_files", "planado.text_flows",
             "planado.fast_files", "planado.cadence", "core.manual_sync"} if policy == "planado"
            else {"playmaker.upload_on_save", "playmaker.upload_on_reconnect", "core.no_loss"})
    assert want <= judged, sorted(judged)
    assert res.trace.exists() and res.exit_code == 0


MUTANT_CASES = ["no_sync_on_status", "playmaker_save_waits"]
SLOW_CASES = ["photos_on_edge", "no_text_on_slow", "ignores_manual", "no_sync_on_open",
              "playmaker_no_reconnect_upload"]


@pytest.mark.parametrize("mutant", MUTANT_CASES + [pytest.param(m, marks=pytest.mark.slow)
                                                   for m in SLOW_CASES])
def test_a_broken_client_is_caught_by_its_rule(mutant, tmp_path):
    m = MUTANTS[mutant]
    res = check_client([*REFERENCE_CLIENT, "--mutant", mutant], policy=m.base, time_scale=K,
                       workdir=tmp_path)
    assert any(f.startswith(m.rule + ":") for f in res.failures), res.failures


def test_a_driver_that_crashes_or_hangs_is_a_failure(tmp_path):
    res = check_client([sys.executable, "-c", "import sys; print('no such flag', file=sys.stderr); "
                        "sys.exit(3)"], policy="playmaker", time_scale=K, workdir=tmp_path / "a")
    assert res.failures[0] == "the driver exited 3: no such flag"
    res = check_client([sys.executable, "-c", "import time; time.sleep(60)"], policy="playmaker",
                       time_scale=K, workdir=tmp_path / "b", grace_s=1.0)
    assert res.failures[0].startswith("the driver still ran") and res.exit_code != 0


def test_check_server_and_check_proxy_pass_the_reference_ones():
    with running_server() as srv:
        assert check_server(srv.url, admin_token=srv.admin_token) == []
    with ProxyServerThread(seed=1) as proxy:
        assert check_proxy(proxy.url) == {}
    # Something that is not a proxy fails every check.
    with running_server() as srv:
        assert len(check_proxy(srv.url)) >= 5
