"""Policies: built-in rule sets, YAML policy files, and parameter precedence
("the defaults below, overridden by the policy, then by meta.params, then by
--param (an unknown --param name is an error)")."""

from __future__ import annotations

import pytest

from bench.rules import (
    DEFAULT_PARAMS,
    REGISTRY,
    Checker,
    Policy,
    PolicyError,
    builtin_policies,
    get_policy,
    load_policy_file,
    parse_param,
    policy_from_dict,
)


def test_builtin_policies_are_core_plus_their_own_rules():
    pols = builtin_policies()
    core = {r for r in REGISTRY if r.startswith("core.")}
    assert len(core) == 5
    assert set(pols["planado"].rules) == core | {r for r in REGISTRY if r.startswith("planado.")}
    assert set(pols["playmaker"].rules) == core | {r for r in REGISTRY if r.startswith("playmaker.")}
    assert len(pols["playmaker"].rules) == 9
    assert len(REGISTRY) == 24


def test_unknown_policy_name_is_a_clear_error():
    with pytest.raises(PolicyError, match="unknown policy 'acme'.*--policy-file"):
        get_policy("acme")


# -- precedence ---------------------------------------------------------------------------
def test_defaults_then_policy_then_meta_then_param():
    pol = Policy(name="p", rules=("core.manual_sync",), params={"manual_s": 3, "respond_s": 7})
    assert pol.resolve_params()["interval_s"] == DEFAULT_PARAMS["interval_s"]
    assert pol.resolve_params()["manual_s"] == 3
    v = pol.resolve_params(meta_params={"manual_s": 4, "respond_s": 8}, overrides={"manual_s": 5})
    assert (v["manual_s"], v["respond_s"]) == (5, 8)
    assert pol.resolve_params(meta_params={"manual_s": 4})["manual_s"] == 4


def test_checker_uses_the_resolved_values():
    pol = Policy(name="p", rules=("core.manual_sync",), params={"manual_s": 3})
    meta = {"ev": "meta", "schema": "syncbench.trace/1", "params": {"manual_s": 4}}
    assert Checker(pol, meta=meta).rules[0].p == {"manual_s": 4}
    assert Checker(pol, meta=meta, params={"manual_s": 6}).rules[0].p == {"manual_s": 6}


def test_unknown_meta_param_is_ignored_unknown_override_is_an_error():
    pol = get_policy("planado")
    assert "x_other_tool" not in pol.resolve_params(meta_params={"x_other_tool": 1})
    with pytest.raises(PolicyError, match="unknown parameter 'x_other_tool'"):
        pol.resolve_params(overrides={"x_other_tool": 1})


@pytest.mark.parametrize("value", ["5", True, None, -1, float("nan"), float("inf")])
def test_bad_parameter_values_are_rejected_in_every_layer(value):
    pol = get_policy("planado")
    with pytest.raises(PolicyError, match="meta.params: parameter 'respond_s'"):
        pol.resolve_params(meta_params={"respond_s": value})
    with pytest.raises(PolicyError, match="--param: parameter 'respond_s'"):
        pol.resolve_params(overrides={"respond_s": value})
    with pytest.raises(PolicyError, match="params.respond_s"):
        policy_from_dict({"name": "x", "extends": "planado", "params": {"respond_s": value}}, "f.yaml")


# -- --param NAME=VALUE -----------------------------------------------------------------
def test_parse_param():
    assert parse_param("respond_s=10") == ("respond_s", 10)
    assert type(parse_param("respond_s=10")[1]) is int
    assert parse_param("respond_s=2.5") == ("respond_s", 2.5)
    assert parse_param("respond_s=0") == ("respond_s", 0)


@pytest.mark.parametrize(("text", "words"), [
    ("respond_s", "expected NAME=VALUE"),
    ("=5", "expected NAME=VALUE"),
    ("nope=5", "--param nope: unknown parameter (known: cadence_tol_s"),
    ("respond_s=soon", "'soon' is not a number"),
    ("respond_s=", "'' is not a number"),
    ("respond_s=nan", "finite number >= 0"),
    ("respond_s=-1", "finite number >= 0"),
    ("respond_s=inf", "finite number >= 0"),
])
def test_parse_param_errors(text, words):
    with pytest.raises(PolicyError, match=None) as exc:
        parse_param(text)
    assert words in str(exc.value)
    assert "\n" not in str(exc.value)


# -- policy files -------------------------------------------------------------------------
def test_policy_from_dict_extends_excludes_and_sets_params():
    pol = policy_from_dict({"name": "lenient", "extends": "planado", "exclude": ["planado.no_overpoll"],
                            "params": {"respond_s": 10}, "description": "ours"}, "f.yaml")
    assert pol.name == "lenient"
    assert "planado.no_overpoll" not in pol.rules and "planado.cadence" in pol.rules
    assert pol.params == {"respond_s": 10}


def test_policy_from_dict_rules_with_patterns_keep_order_without_duplicates():
    pol = policy_from_dict({"name": "mix", "rules": ["core.*", "playmaker.upload_on_save", "core.scope"]}, "f")
    assert pol.rules[:5] == tuple(sorted(r for r in REGISTRY if r.startswith("core.")))
    assert pol.rules[5:] == ("playmaker.upload_on_save",)


@pytest.mark.parametrize(("data", "words"), [
    ([1, 2], "a policy must be a mapping"),
    ("just text", "a policy must be a mapping"),
    ({"name": "x", "rules": ["core.*"], "color": "red"}, "unknown key 'color'"),
    ({"rules": ["core.*"]}, "'name' must be a non-empty string"),
    ({"name": 5, "rules": ["core.*"]}, "'name' must be a non-empty string"),
    ({"name": "x", "rules": ["core.nope"]}, "rules: unknown rule id 'core.nope'"),
    ({"name": "x", "rules": ["acme.*"]}, "'acme.*' matches no rule"),
    ({"name": "x", "rules": [7]}, "rule ids must be strings"),
    ({"name": "x", "rules": "core.*"}, "'rules' must be a list"),
    ({"name": "x"}, "names no rules"),
    ({"name": "x", "extends": "acme"}, "extends: unknown policy 'acme'"),
    ({"name": "x", "extends": ["planado"]}, "'extends' must be a policy name"),
    ({"name": "x", "extends": "planado", "exclude": "core.scope"}, "'exclude' must be a list"),
    ({"name": "x", "extends": "planado", "exclude": ["core.nope"]}, "exclude: unknown rule id"),
    ({"name": "x", "extends": "planado", "params": [1]}, "'params' must be a mapping"),
    ({"name": "x", "extends": "planado", "params": {"speed": 1}}, "params: unknown parameter 'speed'"),
    ({"name": "x", "extends": "planado", "params": {"respond_s": "fast"}}, "params.respond_s must be a number"),
])
def test_policy_from_dict_errors_name_the_file(data, words):
    with pytest.raises(PolicyError) as exc:
        policy_from_dict(data, "team.yaml")
    msg = str(exc.value)
    assert msg.startswith("team.yaml: ") and words in msg and "\n" not in msg


def test_load_policy_file(tmp_path):
    path = tmp_path / "team.yaml"
    path.write_text("name: team\nextends: playmaker\nparams:\n  save_ack_s: 60\n")
    pol = load_policy_file(path)
    assert (pol.name, pol.params, len(pol.rules)) == ("team", {"save_ack_s": 60}, 9)


def test_load_policy_file_not_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "team.yaml"
    path.write_text("name: team\nrules: [core.scope\nparams: {\n")
    with pytest.raises(PolicyError) as exc:
        load_policy_file(path)
    assert str(exc.value).startswith(f"{path}:") and "not valid YAML" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_load_policy_file_unreadable(tmp_path):
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy_file(tmp_path / "missing.yaml")
