"""Policies are code: bundled files load, extends composes, mistakes name key and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import Policy, PolicyError
from engine.policy.model import bundled_policy_names


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bundled_policies_load_and_differ() -> None:
    assert {"default", "strict", "data"} <= set(bundled_policy_names())
    default, strict, data = (Policy.load(n) for n in ("default", "strict", "data"))
    assert "math" in default.allowed_modules and "os" not in default.allowed_modules
    assert strict.allowed_modules == frozenset()
    assert "import" in strict.forbidden_syntax
    assert {"decimal", "fractions", "csv"} <= data.allowed_modules
    assert default.allowed_modules <= data.allowed_modules
    assert "open" not in default.allowed_builtins and "len" in default.allowed_builtins
    assert {"gi_frame", "f_globals", "tb_frame", "cr_frame", "mro"} <= default.denied_attributes
    assert not default.sandbox.network and default.sandbox.filesystem == "none"


def test_extends_with_list_edits(tmp_path: Path) -> None:
    path = write(tmp_path, "team.toml", """
extends = "default"
name = "team"
[imports]
allow = { add = ["decimal"], remove = ["re"] }
[limits]
timeout_seconds = 2.5
""")
    policy = Policy.load(path)
    assert policy.name == "team"
    assert "decimal" in policy.allowed_modules and "re" not in policy.allowed_modules
    assert "math" in policy.allowed_modules
    assert policy.limits.timeout_seconds == 2.5
    assert policy.limits.memory_mb == Policy.load("default").limits.memory_mb


def test_extends_a_relative_file(tmp_path: Path) -> None:
    write(tmp_path, "base.toml", '[imports]\nallow = ["math"]\n')
    child = write(tmp_path, "child.toml",
                  'extends = "base.toml"\n[imports]\nallow = { add = ["json"] }\n')
    assert Policy.load(child).allowed_modules == {"math", "json"}


def test_list_replacement_replaces(tmp_path: Path) -> None:
    path = write(tmp_path, "p.toml", 'extends = "default"\n[imports]\nallow = ["math"]\n')
    assert Policy.load(path).allowed_modules == {"math"}


def issues_of(path: Path) -> list[tuple[str, str, str]]:
    with pytest.raises(PolicyError) as info:
        Policy.load(path)
    return [(i.source, i.key, i.message) for i in info.value.issues]


def test_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", '[imports]\nallowed = ["math"]\n')
    [(source, key, message)] = issues_of(path)
    assert source == str(path) and key == "imports.allowed" and message == "unknown key"


def test_unknown_top_level_section(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", '[network]\nallow = true\n')
    assert issues_of(path)[0][1:] == ("network", "unknown key")


def test_wrong_types_name_key(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", '[limits]\ntimeout_seconds = "ten"\nmemory_mb = -5\n')
    keys = {key for _, key, _ in issues_of(path)}
    assert keys == {"limits.timeout_seconds", "limits.memory_mb"}


def test_unknown_syntax_kind(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", '[syntax]\nforbid = ["goto"]\n')
    [(_, key, message)] = issues_of(path)
    assert key.startswith("syntax.forbid") and "goto" in message


def test_bad_list_edit(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", '[imports]\nallow = { append = ["x"] }\n')
    [(_, key, message)] = issues_of(path)
    assert key == "imports.allow" and "add" in message


def test_removing_what_is_not_there(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml",
                 'extends = "default"\n[imports]\nallow = { remove = ["os"] }\n')
    [(_, key, message)] = issues_of(path)
    assert key == "imports.allow.remove" and "os" in message


def test_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", "[imports\nallow = 1\n")
    [(source, _, message)] = issues_of(path)
    assert source == str(path) and "not valid TOML" in message


def test_extends_cycle(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", 'extends = "b.toml"\n')
    b = write(tmp_path, "b.toml", 'extends = "a.toml"\n')
    [(_, key, message)] = issues_of(b)
    assert key == "extends" and "extends itself" in message


def test_extends_missing(tmp_path: Path) -> None:
    path = write(tmp_path, "p.toml", 'extends = "nonexistent"\n')
    [(_, key, message)] = issues_of(path)
    assert key == "extends" and "no bundled policy named 'nonexistent'" in message


def test_unknown_policy_name() -> None:
    with pytest.raises(PolicyError, match="bundled: data, default, strict"):
        Policy.load("nope")


def test_prompt_rules_are_plain_language() -> None:
    rules = Policy.load("default").prompt_rules()
    text = "\n".join(rules)
    assert "You cannot access the network." in rules
    assert "You may import only: bisect, collections" in text
    assert "final_answer(value)" in text
    assert "Classes are fine" in text and "super() without arguments" in text
    strict = "\n".join(Policy.load("strict").prompt_rules())
    assert "You cannot import any module." in strict
    assert "class definitions" in strict and "Classes are fine" not in strict
    assert len(text) < 1200  # small models have small contexts


def test_policy_round_trips_as_json() -> None:
    policy = Policy.load("data")
    again = Policy.model_validate_json(policy.model_dump_json())
    assert again.allowed_modules == policy.allowed_modules


def test_a_copied_policy_derives_its_sets_from_its_own_lists() -> None:
    from engine.policy.model import Imports

    original = Policy.load("default")
    assert "math" in original.allowed_modules  # cached now
    narrowed = original.model_copy(update={"imports": Imports(allow=("json",))})
    assert narrowed.allowed_modules == frozenset({"json"})
    assert "math" in original.allowed_modules
