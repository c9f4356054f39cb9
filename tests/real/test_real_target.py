"""Real mode against a separately started server (``--target-server``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.real import run_real_item
from bench.scenario import load_scenario
from reference_server.testing import running_server

SCENARIO = """
name: real-target
policy: planado
seed: 5
duration: 3m
settle: 2m
settle_link: 3g
devices:
  - id: w1
    link: 3g
    timeline:
      - {t: 0, app: opened}
      - {t: 30, edit: status, record: job-1, status: started}
      - {t: 90, edit: text, record: w1-r1, text: created on the phone}
      - {t: 120, manual: pull}
dispatch:
  - {t: 10, op: create, record: job-1, assignee: w1, status: new}
"""


@pytest.mark.slow
def test_real_run_against_a_target_server_twice(tmp_path: Path) -> None:
    path = tmp_path / "target.yaml"
    path.write_text(SCENARIO)
    sc = load_scenario(path)
    with running_server(subprocess=True) as srv:
        items = [run_real_item(path, sc, None, target_server=srv.url,
                               target_token=srv.admin_token, echo=lambda *a: None)
                 for _ in range(2)]
        # The devices really went to that server: its scope holds the phone's record.
        jobs = srv.admin_client().get("/v1/web/jobs").json()["records"]
    for item in items:  # "a rerun is as clean as the first run"
        v = {r.id: r.verdict for r in item.results}
        assert item.holds and not item.extra["errors"], (item.unmet, item.extra["errors"])
        assert item.extra["server"] == "target"
        assert v["core.converge"] == "pass" and v["core.no_loss"] == "pass"
        # No server trace, yet the server's rules are judged from the bench's own record.
        for rule in ("planado.push_sent", "planado.push_delivered", "planado.push_scope",
                     "core.exactly_once", "core.scope"):
            assert v[rule] == "pass", (rule, v[rule], item.unmet)
    # A run tag keeps every id fresh: two runs, two tagged copies of each record.
    ids = sorted(j["id"] for j in jobs)
    assert len(ids) == 4 and all(i.startswith(("job-1.", "w1-r1.")) for i in ids), ids
    tags = {i.rsplit(".", 1)[1] for i in ids}
    assert len(tags) == 2
    assert all(j["assignee"].startswith("w1.") for j in jobs)


def test_real_target_server_errors_are_one_line(tmp_path: Path) -> None:
    import socket

    import pytest

    from bench.real import RealRunError

    path = tmp_path / "target.yaml"
    path.write_text(SCENARIO)
    sc = load_scenario(path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # bound, not listening: refused
        with pytest.raises(RealRunError, match="cannot reach the server"):
            run_real_item(path, sc, None, target_server=dead, target_token="t")
    with running_server() as srv, pytest.raises(RealRunError, match=r"provisioning 'w1\..*401"):
        run_real_item(path, sc, None, target_server=srv.url, target_token="wrong")
    with pytest.raises(RealRunError, match="go together"):
        run_real_item(path, sc, None, target_server="http://127.0.0.1:9")
