"""``syncbench check``: exit status, --json, --param, policies, --policy-file,
--junit and the human table (rules.md, "The check command")."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from bench.cli import main
from bench.rules import get_policy
from bench.testing import TraceBuilder


def story(policy: str | None = "playmaker", *, manual_sync_at: float | None = None, params=None) -> TraceBuilder:
    """One device; a manual request at 10 (answered at ``manual_sync_at``), equal
    snapshots (core.converge passes); every other playmaker rule n/a."""
    tb = TraceBuilder(policy, settled=True, params=params)
    tb.link(0, "d1", "wifi").app(0, "d1", "opened").manual(10, "d1")
    if manual_sync_at is not None:
        tb.sync(manual_sync_at, "d1", "timer")
    tb.snapshot(30, "d1", {"r1": 1}).srv_snapshot(30, "d1", {"r1": 1})
    return tb


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["check", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, out: str, err: str, *words: str) -> None:
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("syncbench check: error: ")
    for w in words:
        assert w in err


# -- exit status ----------------------------------------------------------------------------
def test_exit_0_when_every_judged_rule_passes(tmp_path, capsys):
    code, out, _ = run(capsys, story(manual_sync_at=11).write(tmp_path / "t.jsonl"))
    assert code == 0 and "0 fail" in out


def test_nothing_judged_is_exit_2_with_a_clear_message(tmp_path, capsys):
    # "n/a is never a way to hide a failure": an export no rule can judge is not a pass.
    tb = TraceBuilder("playmaker").link(0, "d1", "offline")
    code, out, err = run(capsys, tb.write(tmp_path / "t.jsonl"))
    assert code == 2 and "9 n/a" in out
    assert err.count("\n") == 1 and "nothing to judge" in err and "event kinds: link" in err


def test_exit_1_when_a_rule_fails(tmp_path, capsys):
    code, out, _ = run(capsys, story().write(tmp_path / "t.jsonl"))
    assert code == 1 and "1 fail" in out


def test_exit_2_on_a_malformed_trace(tmp_path, capsys):
    path = tmp_path / "t.jsonl"
    path.write_bytes(story().lines() + b'{"ev":"link","t":31,"dev":"d1","class":"4x"}\n')
    one_line_error(*run(capsys, path), f"{path}:7: ", "'class'")


def test_installed_entry_point(tmp_path):
    path = story().write(tmp_path / "t.jsonl")
    proc = subprocess.run([sys.executable, "-m", "bench", "check", str(path), "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["policy"] == "playmaker"


def test_standard_input(tmp_path, monkeypatch, capsys):
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(story(manual_sync_at=11).lines())))
    code, out, _ = run(capsys, "-")
    assert code == 0 and out.startswith("<stdin>: policy playmaker")


# -- --json ---------------------------------------------------------------------------------
def test_json_is_exactly_the_object_of_the_spec(tmp_path, capsys):
    code, out, _ = run(capsys, story().write(tmp_path / "t.jsonl"), "--json")
    assert code == 1
    doc = json.loads(out)
    assert set(doc) == {"policy", "rules"} and doc["policy"] == "playmaker"
    assert [r["id"] for r in doc["rules"]] == list(get_policy("playmaker").rules)
    for r in doc["rules"]:
        # The spec's three keys; an n/a rule adds one, "why" (an unjudged rule says why).
        assert set(r) == {"id", "verdict", "violations"} | ({"why"} if r["verdict"] == "n/a" else set())
        assert r["verdict"] in ("pass", "fail", "n/a")
        assert (r["verdict"] == "fail") == bool(r["violations"])
    by_id = {r["id"]: r for r in doc["rules"]}
    assert by_id["core.converge"]["verdict"] == "pass"
    assert by_id["core.manual_sync"]["violations"] == [
        {"t": 10, "dev": "d1", "message": "manual request at 10 got no sync_start by 12"}]
    assert out.count("\n") == 1


def test_json_has_one_entry_per_rule_of_a_policy_file(tmp_path, capsys):
    pf = tmp_path / "team.yaml"
    pf.write_text("name: team\nrules: [core.manual_sync, core.scope]\n")
    code, out, _ = run(capsys, story().write(tmp_path / "t.jsonl"), "--policy-file", pf, "--json")
    doc = json.loads(out)
    assert doc["policy"] == "team"
    assert [r["id"] for r in doc["rules"]] == ["core.manual_sync", "core.scope"]


# -- --param and precedence -----------------------------------------------------------------
def verdict(capsys, *argv) -> str:
    code, out, err = run(capsys, *argv, "--json")
    assert code in (0, 1), err
    return {r["id"]: r["verdict"] for r in json.loads(out)["rules"]}["core.manual_sync"]


def test_param_overrides(tmp_path, capsys):
    path = story(manual_sync_at=14).write(tmp_path / "t.jsonl")  # answered after 4 s
    assert verdict(capsys, path) == "fail"
    assert verdict(capsys, path, "--param", "manual_s=4") == "pass"
    assert verdict(capsys, path, "--param", "manual_s=4", "--param", "manual_s=3.9") == "fail"


def test_precedence_defaults_policy_meta_param(tmp_path, capsys):
    pf = tmp_path / "team.yaml"
    pf.write_text("name: team\nextends: playmaker\nparams: {manual_s: 4}\n")
    plain = story(manual_sync_at=14).write(tmp_path / "plain.jsonl")
    with_meta = story(manual_sync_at=14, params={"manual_s": 1}).write(tmp_path / "meta.jsonl")
    assert verdict(capsys, plain) == "fail"  # default 2
    assert verdict(capsys, plain, "--policy-file", pf) == "pass"  # policy 4
    assert verdict(capsys, with_meta, "--policy-file", pf) == "fail"  # meta.params 1 beats the policy
    assert verdict(capsys, with_meta, "--policy-file", pf, "--param", "manual_s=4") == "pass"  # --param last


@pytest.mark.parametrize(("param", "words"), [
    ("speed=3", "--param speed: unknown parameter (known: "),
    ("manual_s", "expected NAME=VALUE"),
    ("manual_s=fast", "'fast' is not a number"),
    ("manual_s=-2", "finite number >= 0"),
])
def test_bad_param_is_a_clear_error(tmp_path, capsys, param, words):
    one_line_error(*run(capsys, story().write(tmp_path / "t.jsonl"), "--param", param), words)


# -- which policy ---------------------------------------------------------------------------
def test_policy_option_beats_meta(tmp_path, capsys):
    code, out, _ = run(capsys, story("playmaker").write(tmp_path / "t.jsonl"), "--policy", "planado", "--json")
    assert json.loads(out)["policy"] == "planado"


def test_policy_from_meta(tmp_path, capsys):
    code, out, _ = run(capsys, story("playmaker").write(tmp_path / "t.jsonl"), "--json")
    assert json.loads(out)["policy"] == "playmaker"


def test_no_policy_anywhere_is_a_clear_error(tmp_path, capsys):
    one_line_error(*run(capsys, story(None).write(tmp_path / "t.jsonl")), "no policy", "--policy")


def test_unknown_policy_is_a_clear_error(tmp_path, capsys):
    one_line_error(*run(capsys, story("acme").write(tmp_path / "t.jsonl")), "unknown policy 'acme'", "--policy-file")


def test_policy_name_must_match_the_policy_file(tmp_path, capsys):
    pf = tmp_path / "team.yaml"
    pf.write_text("name: team\nextends: playmaker\n")
    one_line_error(*run(capsys, story().write(tmp_path / "t.jsonl"), "--policy", "other", "--policy-file", pf),
                   "'other'", str(pf))


# -- --policy-file --------------------------------------------------------------------------
def test_policy_file_good(tmp_path, capsys):
    pf = tmp_path / "team.yaml"
    pf.write_text("# our sync contract\nname: team\ndescription: PlayMaker, slower acks\nextends: playmaker\n"
                  "exclude: [core.converge]\nparams:\n  save_ack_s: 60\n")
    code, out, _ = run(capsys, story(manual_sync_at=11).write(tmp_path / "t.jsonl"), "--policy-file", pf)
    assert code == 0 and "policy team, 8 rules" in out and "core.converge" not in out


@pytest.mark.parametrize(("text", "words"), [
    ("name: team\nrules: [core.scope\n", "not valid YAML"),
    ("\tname: x\n", "not valid YAML"),
    ("- core.scope\n- core.converge\n", "a policy must be a mapping"),
    ("", "a policy must be a mapping"),
    ("name: team\nrules: [core.nope]\n", "unknown rule id 'core.nope'"),
    ("name: team\nextends: playmaker\nparams: {speed: 1}\n", "unknown parameter 'speed'"),
    ("name: team\nextends: playmaker\nparams: {manual_s: fast}\n", "params.manual_s must be a number"),
    ("name: team\nextends: playmaker\nparams: {manual_s: true}\n", "params.manual_s must be a number"),
    ("name: team\nextends: playmaker\ncolour: red\n", "unknown key 'colour'"),
])
def test_bad_policy_file_is_a_one_line_error_naming_it(tmp_path, capsys, text, words):
    pf = tmp_path / "team.yaml"
    pf.write_text(text)
    one_line_error(*run(capsys, story().write(tmp_path / "t.jsonl"), "--policy-file", pf), str(pf), words)


def test_missing_policy_file(tmp_path, capsys):
    pf = tmp_path / "nope.yaml"
    one_line_error(*run(capsys, story().write(tmp_path / "t.jsonl"), "--policy-file", pf), str(pf), "cannot read")


# -- --junit --------------------------------------------------------------------------------
def test_junit_one_testcase_per_rule(tmp_path, capsys):
    tb = story()
    tb.manual(20, "d1")  # a second violation of core.manual_sync
    junit = tmp_path / "out" / "rules.xml"
    junit.parent.mkdir()
    code, out, _ = run(capsys, tb.write(tmp_path / "t.jsonl"), "--junit", junit)
    assert code == 1 and "core.manual_sync" in out
    suite = ET.parse(junit).getroot().find("testsuite")
    cases = {tc.get("name"): tc for tc in suite.findall("testcase")}
    assert list(cases) == list(get_policy("playmaker").rules)
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("9", "1", "7")
    failure = cases["core.manual_sync"].find("failure")
    assert failure.get("message").startswith("2 violation(s)")
    assert failure.text.splitlines() == [
        "t=10 dev=d1: manual request at 10 got no sync_start by 12",
        "t=20 dev=d1: manual request at 20 got no sync_start by 22"]
    assert list(cases["core.converge"]) == []  # pass: no child
    assert cases["core.scope"].find("skipped") is not None
    assert cases["core.scope"].find("failure") is None


def test_junit_with_json_writes_both(tmp_path, capsys):
    junit = tmp_path / "rules.xml"
    code, out, _ = run(capsys, story(manual_sync_at=11).write(tmp_path / "t.jsonl"), "--junit", junit, "--json")
    assert code == 0 and json.loads(out)["policy"] == "playmaker"
    assert ET.parse(junit).getroot().find("testsuite").get("failures") == "0"


def test_junit_unwritable_is_a_clear_error(tmp_path, capsys):
    one_line_error(*run(capsys, story().write(tmp_path / "t.jsonl"), "--junit", tmp_path / "no" / "dir.xml"),
                   "cannot write")


# -- the table ------------------------------------------------------------------------------
def test_table_lists_failures_first_with_time_and_device(tmp_path, capsys):
    tb = story()
    tb.link(0, "d2", "wifi").app(0, "d2", "opened").manual(12.5, "d2")
    code, out, _ = run(capsys, tb.write(tmp_path / "t.jsonl"))
    lines = out.splitlines()
    assert lines[0].startswith(f"{tmp_path / 't.jsonl'}: policy playmaker, 9 rules: 1 fail, 1 pass, 7 n/a")
    tags = [line.split()[0] for line in lines[1:] if not line.startswith("        ")]
    assert tags == ["FAIL"] + ["PASS"] + ["N/A"] * 7
    assert "core.manual_sync" in lines[1] and "2 violation(s)" in lines[1]
    v1, v2 = lines[2].split(), lines[3].split()
    assert v1[:3] == ["t=", "10", "d1"] and v2[:3] == ["t=", "12.5", "d2"]
    assert "manual request at 12.5" in lines[3]


def test_table_shortens_long_violation_lists(tmp_path, capsys):
    tb = story()
    for i in range(12):
        tb.manual(11 + i * 0.1, "d1")
    code, out, _ = run(capsys, tb.write(tmp_path / "t.jsonl"))
    assert "13 violation(s)" in out and "... and 3 more (see --json)" in out


# -- docs/checking.md is a test -------------------------------------------------------------
DOC = __import__("pathlib").Path(__file__).resolve().parents[2] / "docs" / "checking.md"


def doc_blocks(lang: str) -> list[str]:
    import re

    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_doc_example_prints_what_the_doc_says(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "example.jsonl").write_text(doc_blocks("jsonl")[0])
    code, out, _ = run(capsys, "example.jsonl")
    assert code == 1
    assert out == doc_blocks("text")[0]
    assert run(capsys, "example.jsonl", "--param", "save_ack_s=60")[0] == 0


def test_doc_policy_file_works(tmp_path, capsys):
    (tmp_path / "example.jsonl").write_text(doc_blocks("jsonl")[0])
    (tmp_path / "our_policy.yaml").write_text(doc_blocks("yaml")[0])
    code, out, err = run(capsys, tmp_path / "example.jsonl", "--policy-file", tmp_path / "our_policy.yaml", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["policy"] == "acme-field"
    ids = [r["id"] for r in doc["rules"]]
    assert "core.converge" not in ids and "planado.text_flows" in ids and len(ids) == 9


def test_doc_json_example_has_the_shape_of_the_output():
    doc = json.loads(doc_blocks("json")[0])
    assert set(doc) == {"policy", "rules"}
    assert all(set(r) == {"id", "verdict", "violations"} for r in doc["rules"])
