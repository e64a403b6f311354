"""A policy diff says, change by change, whether the new policy lets a snippet do more."""

from __future__ import annotations

import json
from itertools import permutations
from pathlib import Path

import pytest
from pydantic import JsonValue

from engine import Policy
from engine.policy.diff import SECTIONS, PolicyChange, PolicyDiff, diff_policies
from engine.policy.model import ArgumentRule, Limits, SandboxRules

Row = tuple[str, str, JsonValue, JsonValue, bool, str]


def rows(old: str, new: str) -> list[Row]:
    """The changes between two inline policies, as (key, kind, old, new, widens, summary)."""
    diff = diff_policies(Policy.from_toml(old), Policy.from_toml(new))
    return [(c.key, c.kind, c.old, c.new, c.widens, c.summary) for c in diff.changes]


def row(change: PolicyChange) -> Row:
    return change.key, change.kind, change.old, change.new, change.widens, change.summary


@pytest.fixture(scope="module")
def default() -> Policy:
    return Policy.load("default")


@pytest.fixture(scope="module")
def strict() -> Policy:
    return Policy.load("strict")


def test_default_to_strict_narrows(default: Policy, strict: Policy) -> None:
    diff = diff_policies(default, strict)
    found = [row(c) for c in diff.changes]
    assert ("imports.allow", "removed", "re", None, False,
            "no longer allows importing `re`") in found
    assert ("builtins.allow", "removed", "type", None, False,
            "no longer allows the builtin `type`") in found
    assert ("syntax.forbid", "added", None, "lambda", False, "forbids `lambda`") in found
    assert ("limits.timeout_seconds", "lowered", 10.0, 5.0, False,
            "lowers the wall time per snippet from 10 s to 5 s") in found
    assert ("limits.max_source_bytes", "lowered", 65536, 16384, False,
            "lowers the size of a snippet from 64 KiB to 16 KiB") in found
    assert ("name", "changed", "default", "strict", False,
            "renames the policy from `default` to `strict`") in found
    assert ("description", "changed", default.description, strict.description, False,
            "changes the description") in found
    assert {c.key for c in diff.changes if c.section == "imports"} == {"imports.allow"}
    assert len([c for c in diff.changes if c.key == "imports.allow"]) == len(
        default.imports.allow)
    assert not diff.widens and not any(c.widens for c in diff.changes)
    assert (diff.old_digest, diff.new_digest) == (default.digest, strict.digest)


def test_strict_to_default_widens_by_the_same_changes(default: Policy, strict: Policy) -> None:
    forward, back = diff_policies(default, strict), diff_policies(strict, default)
    assert back.widens
    assert all(c.widens for c in back.changes if c.section != "labels")
    mirror = {"added": "removed", "removed": "added", "raised": "lowered", "lowered": "raised",
              "changed": "changed"}
    assert sorted((c.key, mirror[c.kind], c.new, c.old) for c in forward.changes) == sorted(
        (c.key, c.kind, c.old, c.new) for c in back.changes)
    assert ("syntax.forbid", "removed", "lambda", None, True,
            "no longer forbids `lambda`") in [row(c) for c in back.changes]


ALLOW_LISTS = """
[imports]
allow = ["math", "re"]
[builtins]
allow = ["len"]
[attributes]
allow_dunder = []
read_dunder = ["__doc__"]
deny = ["mro", "gi_frame"]
allow_private_names = ["_replace"]
[syntax]
forbid = ["lambda"]
"""


@pytest.mark.parametrize(("old", "new", "expected"), [
    (ALLOW_LISTS, ALLOW_LISTS.replace('["math", "re"]', '["math", "re", "csv"]'),
     [("imports.allow", "added", None, "csv", True, "allows importing `csv`")]),
    (ALLOW_LISTS, ALLOW_LISTS.replace('["math", "re"]', '["math"]'),
     [("imports.allow", "removed", "re", None, False, "no longer allows importing `re`")]),
    (ALLOW_LISTS, ALLOW_LISTS.replace('["math", "re"]', '["re", "math"]'), []),
    (ALLOW_LISTS, ALLOW_LISTS.replace('["len"]', '["len", "open"]'),
     [("builtins.allow", "added", None, "open", True, "allows the builtin `open`")]),
    (ALLOW_LISTS, ALLOW_LISTS.replace("allow_dunder = []", 'allow_dunder = ["__dict__"]'),
     [("attributes.allow_dunder", "added", None, "__dict__", True,
       "allows the attribute `__dict__`")]),
    (ALLOW_LISTS, ALLOW_LISTS.replace('["__doc__"]', "[]"),
     [("attributes.read_dunder", "removed", "__doc__", None, False,
       "no longer allows reading the attribute `__doc__`")]),
    (ALLOW_LISTS, ALLOW_LISTS.replace('["mro", "gi_frame"]', '["gi_frame"]'),
     [("attributes.deny", "removed", "mro", None, True, "no longer denies the attribute `mro`")]),
    (ALLOW_LISTS, ALLOW_LISTS.replace('["mro", "gi_frame"]', '["mro", "gi_frame", "f_code"]'),
     [("attributes.deny", "added", None, "f_code", False, "denies the attribute `f_code`")]),
    (ALLOW_LISTS, ALLOW_LISTS.replace('["_replace"]', "[]"),
     [("attributes.allow_private_names", "removed", "_replace", None, False,
       "no longer allows the private attribute `_replace`")]),
    (ALLOW_LISTS, ALLOW_LISTS.replace('forbid = ["lambda"]', "forbid = []"),
     [("syntax.forbid", "removed", "lambda", None, True, "no longer forbids `lambda`")]),
    (ALLOW_LISTS, ALLOW_LISTS.replace('forbid = ["lambda"]', 'forbid = ["lambda", "class"]'),
     [("syntax.forbid", "added", None, "class", False, "forbids `class`")]),
])
def test_allow_and_deny_lists(old: str, new: str, expected: list[Row]) -> None:
    assert rows(old, new) == expected


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("", "[attributes]\nallow_private = true\n",
     [("attributes.allow_private", "changed", False, True, True,
       "allows private (single-underscore) attributes")]),
    ("", "[sandbox]\nnetwork = true\n",
     [("sandbox.network", "changed", False, True, True, "opens the network")]),
    ("[sandbox]\nnetwork = true\n", "[sandbox]\nnetwork = false\n",
     [("sandbox.network", "changed", True, False, False, "closes the network")]),
    ("[limits]\ntimeout_seconds = 10.0\n", "[limits]\ntimeout_seconds = 30.0\n",
     [("limits.timeout_seconds", "raised", 10.0, 30.0, True,
       "raises the wall time per snippet from 10 s to 30 s")]),
    ("[limits]\nmemory_mb = 512\n", "[limits]\nmemory_mb = 128\n",
     [("limits.memory_mb", "lowered", 512, 128, False,
       "lowers the memory a session may add from 512 MB to 128 MB")]),
    ("", "[limits]\ntool_timeout_seconds = 5.0\n",
     [("limits.tool_timeout_seconds", "added", None, 5.0, False,
       "bounds the wall time per tool call at 5 s")]),
    ("[limits]\ntool_timeout_seconds = 5.0\n", "",
     [("limits.tool_timeout_seconds", "removed", 5.0, None, True,
       "lifts the bound on the wall time per tool call (was 5 s)")]),
])
def test_switches_and_limits(old: str, new: str, expected: list[Row]) -> None:
    assert rows(old, new) == expected


def test_every_limit_is_an_upper_bound_with_a_plain_label() -> None:
    base = Policy()
    for field in Limits.model_fields:
        value = getattr(base.limits, field)
        wider = 5.0 if value is None else value * 2
        changed = base.model_copy(update={"limits": base.limits.model_copy(
            update={field: wider})})
        [change] = diff_policies(base, changed).changes
        assert change.key == f"limits.{field}"
        assert change.widens is (value is not None), change
        assert "`" not in change.summary, f"{field} has no plain-language label"


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('[tools]\nallow = ["get_*"]\n', '[tools]\nallow = ["get_*", "send_*"]\n',
     [("tools.allow", "added", None, "send_*", True, "permits tool pattern `send_*`")]),
    ("", '[tools]\nallow = ["get_*", "send_email"]\n',
     [("tools.allow", "added", None, "get_*", False,
       "permits tool pattern `get_*` (already permitted by `*`)"),
      ("tools.allow", "added", None, "send_email", False,
       "permits tool pattern `send_email` (already permitted by `*`)"),
      ("tools.allow", "removed", "*", None, False, "no longer permits tool pattern `*`")]),
    ('[tools]\nallow = ["get_*"]\n', '[tools]\nallow = ["get_*", "get_user"]\n',
     [("tools.allow", "added", None, "get_user", False,
       "permits tool pattern `get_user` (already permitted by `get_*`)")]),
    ('[tools]\ndeny = ["delete_*"]\n', "",
     [("tools.deny", "removed", "delete_*", None, True,
       "no longer denies tool pattern `delete_*`")]),
    ('[tools]\ndeny = ["delete_*", "delete_user"]\n', '[tools]\ndeny = ["delete_*"]\n',
     [("tools.deny", "removed", "delete_user", None, False,
       "no longer denies tool pattern `delete_user` (still denied by `delete_*`)")]),
    ("", '[tools]\ndeny = ["send_*"]\n',
     [("tools.deny", "added", None, "send_*", False, "denies tool pattern `send_*`")]),
    ("", "[tools.calls]\nsend_email = 1\n",
     [("tools.calls.send_email", "added", None, 1, False,
       "limits send_email() to 1 call per snippet")]),
    ("[tools.calls]\nsend_email = 3\n", "[tools.calls]\nsend_email = 5\n",
     [("tools.calls.send_email", "raised", 3, 5, True,
       "raises the calls of send_email() per snippet from 3 to 5")]),
    ("[tools.calls]\nsend_email = 3\n", "[tools.calls]\nsend_email = 0\n",
     [("tools.calls.send_email", "lowered", 3, 0, False,
       "lowers the calls of send_email() per snippet from 3 to 0")]),
    ("[tools.calls]\nsend_email = 3\n", "",
     [("tools.calls.send_email", "removed", 3, None, True,
       "lifts the limit of 3 calls per snippet on send_email()")]),
])
def test_tool_patterns_and_calls(old: str, new: str, expected: list[Row]) -> None:
    assert rows(old, new) == expected


TO = "[tools.arguments.send_email.to]\n"
LIMIT = "[tools.arguments.search.limit]\n"


@pytest.mark.parametrize(("old", "new", "expected"), [
    (TO + "pattern = '@example\\.com$'\n", "",
     [("tools.arguments.send_email.to", "removed", {"pattern": "@example\\.com$"}, None, True,
       "removes the argument rule on send_email(to)")]),
    ("", TO + "pattern = '@example\\.com$'\n",
     [("tools.arguments.send_email.to", "added", None, {"pattern": "@example\\.com$"}, False,
       "adds the argument rule on send_email(to): "
       + ArgumentRule(pattern="@example\\.com$").describe())]),
    (TO + "pattern = '@a$'\nmax_length = 40\n", TO + "max_length = 40\n",
     [("tools.arguments.send_email.to.pattern", "removed", "@a$", None, True,
       "no longer requires send_email(to) to match '@a$'")]),
    (TO + "pattern = '@a$'\n", TO + "pattern = '@b$'\n",
     [("tools.arguments.send_email.to.pattern", "changed", "@a$", "@b$", True,
       "changes the pattern send_email(to) must match from '@a$' to '@b$'")]),
    (TO + "max_length = 40\n", TO + "max_length = 80\n",
     [("tools.arguments.send_email.to.max_length", "raised", 40, 80, True,
       "raises the maximum length of send_email(to) from 40 to 80")]),
    (LIMIT + "maximum = 50\n", LIMIT + "maximum = 100\n",
     [("tools.arguments.search.limit.maximum", "raised", 50, 100, True,
       "raises the maximum of search(limit) from 50 to 100")]),
    (LIMIT + "maximum = 50\n", LIMIT + "maximum = 10\n",
     [("tools.arguments.search.limit.maximum", "lowered", 50, 10, False,
       "lowers the maximum of search(limit) from 50 to 10")]),
    (LIMIT + "minimum = 1\n", LIMIT + "minimum = 0\n",
     [("tools.arguments.search.limit.minimum", "lowered", 1, 0, True,
       "lowers the minimum of search(limit) from 1 to 0")]),
    (LIMIT + "minimum = 1\n", LIMIT + "minimum = 5\n",
     [("tools.arguments.search.limit.minimum", "raised", 1, 5, False,
       "raises the minimum of search(limit) from 1 to 5")]),
    (LIMIT + "minimum = 1\nmaximum = 50\n", LIMIT + "maximum = 50\n",
     [("tools.arguments.search.limit.minimum", "removed", 1, None, True,
       "no longer requires search(limit) to be at least 1")]),
    (TO + "pattern = '@a$'\n", TO + "pattern = '@a$'\nmax_length = 40\n",
     [("tools.arguments.send_email.to.max_length", "added", None, 40, False,
       "requires send_email(to) to be at most 40 characters or items long")]),
    (LIMIT + "minimum = 1\n", LIMIT + "minimum = 1\nmaximum = 50\n",
     [("tools.arguments.search.limit.maximum", "added", None, 50, False,
       "requires search(limit) to be at most 50")]),
    (TO + 'one_of = ["a@x.com"]\n', TO + 'one_of = ["a@x.com", "b@x.com"]\n',
     [("tools.arguments.send_email.to.one_of", "added", None, "b@x.com", True,
       "lets send_email(to) also be 'b@x.com'")]),
    (TO + 'one_of = ["a@x.com", "b@x.com"]\n', TO + 'one_of = ["b@x.com"]\n',
     [("tools.arguments.send_email.to.one_of", "removed", "a@x.com", None, False,
       "no longer lets send_email(to) be 'a@x.com'")]),
    (TO + "max_length = 40\n", TO + 'max_length = 40\none_of = ["a@x.com"]\n',
     [("tools.arguments.send_email.to.one_of", "added", None, ["a@x.com"], False,
       "allows send_email(to) only 'a@x.com'")]),
    (TO + "max_length = 40\n", TO + "max_length = 40\none_of = []\n",
     [("tools.arguments.send_email.to.one_of", "added", None, [], False,
       "allows no value of send_email(to)")]),
    (TO + 'max_length = 40\none_of = ["a@x.com"]\n', TO + "max_length = 40\n",
     [("tools.arguments.send_email.to.one_of", "removed", ["a@x.com"], None, True,
       "no longer limits send_email(to) to fixed values")]),
])
def test_argument_rules(old: str, new: str, expected: list[Row]) -> None:
    assert rows(old, new) == expected


def test_a_changed_rule_is_flagged_when_it_both_gains_and_loses() -> None:
    diff = diff_policies(Policy.from_toml(TO + 'one_of = ["a"]\n'),
                         Policy.from_toml(TO + 'one_of = ["b"]\n'))
    assert [(c.kind, c.widens) for c in diff.changes] == [("added", True), ("removed", False)]
    assert diff.widens


def test_a_field_this_module_does_not_know_is_flagged() -> None:
    base = Policy()
    # The model allows only "none" today; a new setting must not pass unflagged.
    other = base.model_copy(update={"sandbox": SandboxRules.model_construct(
        network=False, filesystem="read-only")})
    [change] = diff_policies(base, other).changes
    assert row(change) == ("sandbox.filesystem", "changed", "none", "read-only", True,
                           "changes `sandbox.filesystem` from 'none' to 'read-only'")


def test_same_rules_through_different_extends_chains_give_an_empty_diff(
        tmp_path: Path) -> None:
    (tmp_path / "direct.toml").write_text(
        'extends = "default"\nname = "team"\n[imports]\nallow = { add = ["csv"] }\n')
    (tmp_path / "middle.toml").write_text(
        'extends = "default"\n[imports]\nallow = { add = ["csv"] }\n')
    (tmp_path / "chained.toml").write_text('extends = "middle.toml"\nname = "team"\n')
    direct, chained = Policy.load(tmp_path / "direct.toml"), Policy.load(tmp_path / "chained.toml")
    diff = diff_policies(direct, chained)
    assert diff.changes == () and not diff.widens
    assert diff.old_digest == diff.new_digest
    assert diff_policies(Policy.load("default"), Policy.load("default")).changes == ()


def test_only_labels_differ_exactly_when_the_digests_agree() -> None:
    bundled = [Policy.load(name) for name in ("default", "strict", "data")]
    unnamed = Policy.from_toml('extends = "default"\nname = "other"\ndescription = "x"\n')
    for old, new in permutations([*bundled, unnamed], 2):
        diff = diff_policies(old, new)
        rules = [c for c in diff.changes if c.section != "labels"]
        assert (diff.old_digest == diff.new_digest) is (not rules), (old.name, new.name)


def test_sections_are_the_models_in_its_order() -> None:
    assert SECTIONS[0] == "labels"
    assert SECTIONS[1:] == tuple(
        name for name in Policy.model_fields
        if name not in {"name", "description", "prompt", "source"})


def test_text_marks_widening_lines(default: Policy, strict: Policy) -> None:
    text = diff_policies(strict, default).render_text()
    lines = text.splitlines()
    assert lines[0] == f"--- strict   {strict.digest}"
    assert lines[1] == f"+++ default  {default.digest}"
    assert "+ WIDENS   imports.allow: allows importing `math`" in lines
    assert "+ WIDENS   syntax.forbid: no longer forbids `lambda`" in lines
    assert ("+ WIDENS   limits.timeout_seconds: raises the wall time per snippet from 5 s to "
            "10 s") in lines
    assert "  label    name: renames the policy from `strict` to `default`" in lines
    assert lines[-1] == "42 changes, 40 widen what a snippet may do"
    narrowing = diff_policies(default, strict).render_text().splitlines()
    assert "- narrows  syntax.forbid: forbids `lambda`" in narrowing
    assert narrowing[-1] == "42 changes, none widens what a snippet may do"


def test_text_follows_the_models_section_order(default: Policy, strict: Policy) -> None:
    keys = [line.split(":")[0].split()[-1]
            for line in diff_policies(default, strict).render_text().splitlines()[2:-1]]
    order = [SECTIONS.index(k.split(".")[0]) if "." in k else 0 for k in keys]
    assert order == sorted(order)
    assert keys.index("limits.cpu_seconds") < keys.index("limits.timeout_seconds")


def test_text_of_no_changes() -> None:
    policy = Policy()
    assert diff_policies(policy, policy).render_text().splitlines()[2:] == [
        "no changes: the two policies enforce the same rules"]


def test_json_round_trips_with_its_schema(default: Policy, strict: Policy) -> None:
    diff = diff_policies(strict, default)
    for text in (diff.model_dump_json(), diff.to_json()):
        data = json.loads(text)
        assert data["schema"] == "codeact.policy-diff/v1"
        assert data["widens"] is True
        assert data["old_name"] == "strict" and data["new_digest"] == default.digest
        assert {"key": "limits.timeout_seconds", "kind": "raised", "old": 5.0, "new": 10.0,
                "widens": True, "section": "limits",
                "summary": "raises the wall time per snippet from 5 s to 10 s"} in data["changes"]
        assert PolicyDiff.model_validate_json(text) == diff
    ruled = diff_policies(Policy.from_toml(TO + "max_length = 4\n"), Policy.from_toml(""))
    assert PolicyDiff.model_validate_json(ruled.to_json()) == ruled
    assert json.loads(ruled.to_json())["changes"][0]["old"] == {"max_length": 4}
