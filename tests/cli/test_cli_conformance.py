"""``syncbench conformance URL --token T``: lines, JSON, JUnit, exit 0/1/2."""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET

import pytest

from bench.cli import main
from reference_server.testing import running_server


@pytest.fixture(scope="module")
def srv():
    with running_server() as s:
        yield s


def test_the_reference_server_passes_every_check(srv, tmp_path, capsys):
    code = main(["conformance", srv.url, "--token", srv.admin_token,
                 "--json", str(tmp_path / "c.json"), "--junit", str(tmp_path / "c.xml")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "PASS  exactly_once_retry" in out and "checks pass against" in out
    doc = json.loads((tmp_path / "c.json").read_text())
    assert doc["ok"] is True and {c["status"] for c in doc["checks"]} == {"pass"}
    suite = ET.parse(tmp_path / "c.xml").getroot().find("testsuite")
    assert suite.get("failures") == "0" and len(suite.findall("testcase")) == len(doc["checks"])


def test_a_mutant_fails_its_check_exit_1_with_junit_failure(tmp_path, capsys):
    with running_server(mutant="keeps_removed") as srv:
        code = main(["conformance", srv.url, "--token", srv.admin_token, "--only", "removals",
                     "--junit", str(tmp_path / "c.xml")])
    out, err = capsys.readouterr()
    assert code == 1 and "FAIL  removals" in out and "0/1 checks pass" in out, out + err
    (case,) = ET.parse(tmp_path / "c.xml").getroot().iter("testcase")
    assert case.get("name") == "removals" and case.find("failure") is not None


@pytest.fixture
def dead():
    """A loopback URL nobody listens on (the port held, not listening, for the test)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def test_unreachable_server_or_bad_flags_are_one_line_exit_2(dead, capsys):
    assert main(["conformance", dead, "--token", "t"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach the server" in err
    assert main(["conformance", "ftp://x", "--token", "t"]) == 2
    assert "http(s)" in capsys.readouterr().err
    assert main(["conformance", "http://127.0.0.1:9", "--token", "t", "--only", "nope"]) == 2
    assert "no such check" in capsys.readouterr().err


# The pytest entry point a team drops into its own suite, here on the reference server.
_srv: dict[str, str] = {}


def _server() -> tuple[str, str]:
    return _srv["url"], _srv["token"]


def test_conformance_tests_entry_point(srv):
    import inspect

    from bench.testing.conformance import CHECKS, conformance_tests

    test = conformance_tests(_server)
    marks = [m for m in getattr(test, "pytestmark", []) if m.name == "parametrize"]
    assert marks and list(marks[0].args[1]) == [c.name for c in CHECKS]
    assert list(inspect.signature(test).parameters) == ["check"]
    _srv.update(url=srv.url, token=srv.admin_token)
    test("batch_acks")  # one case, run as pytest would


def test_a_token_that_starts_with_a_dash_goes_as_flag_equals_value(dead, capsys):
    """A team's token may start with "-" (URL-safe base64 does one time in 64):
    "--token -x" reads as a missing value and the line says how to give it;
    "--token=-x" is taken."""
    assert main(["conformance", dead, "--token", "-mA6Plx"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--token=VALUE" in err
    assert main(["conformance", dead, "--token=-mA6Plx"]) == 2
    assert "cannot reach the server" in capsys.readouterr().err


def test_the_test_servers_admin_tokens_never_start_with_a_dash(monkeypatch):
    # The cause of a rare failure of the conformance tests above: the helper drew
    # its token with secrets.token_urlsafe, which starts with "-" one time in 64.
    import itertools
    import secrets

    draws = itertools.chain(["-starts-with-a-dash"], (f"tok{i}" for i in itertools.count()))
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n=None: next(draws))
    with running_server() as s:
        assert s.admin_token == "tok0"
