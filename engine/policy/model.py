"""The policy as code: a TOML file validated by a pydantic model, with ``extends``.

A policy is a set of allow-lists. In a file, a list-valued key either replaces what the file
extends (``allow = ["math"]``) or edits it (``allow = { add = ["csv"], remove = ["re"] }``).
Unknown keys and wrong types are errors that name the key and the file.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
import math
import sys
import tomllib
from collections.abc import Iterable, Mapping
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

import re2
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.errors import ConfigIssue, PolicyError
from engine.policy.vocabulary import DEFAULT_DENIED_ATTRIBUTES, SyntaxKind

_STRICT = ConfigDict(extra="forbid", frozen=True)


class Imports(BaseModel):
    model_config = _STRICT
    allow: tuple[str, ...] = Field(
        default=(), description="Modules a snippet may import. Submodules must be listed too."
    )


class Builtins(BaseModel):
    model_config = _STRICT
    allow: tuple[str, ...] = Field(
        default=(), description="Builtins a snippet may use (call or read)."
    )


class Attributes(BaseModel):
    model_config = _STRICT
    allow_dunder: tuple[str, ...] = Field(
        default=(), description="Double-underscore attributes that are allowed despite the rule."
    )
    read_dunder: tuple[str, ...] = Field(
        default=(),
        description="Double-underscore attributes a snippet may read but never write, such as "
        "`__name__` and `__doc__` (`type(err).__name__`).",
    )
    deny: tuple[str, ...] = Field(
        default=DEFAULT_DENIED_ATTRIBUTES,
        description="Attribute names that are always denied (interpreter internals).",
    )
    allow_private: bool = Field(
        default=False, description="Allow attributes whose name starts with one underscore."
    )
    allow_private_names: tuple[str, ...] = Field(
        default=(),
        description="Single-underscore attribute names allowed although `allow_private` is "
        "off (public APIs spelled with an underscore, such as namedtuple's `_replace`).",
    )
    return_only: tuple[str, ...] = Field(
        default=(),
        description="Methods that return their result when called without a destination and "
        "write to one when given it (pandas' `to_csv`, `to_json`): allowed only without "
        "positional arguments or a `path_or_buf`/`buf`/`path` keyword (P125).",
    )


class Syntax(BaseModel):
    model_config = _STRICT
    forbid: tuple[SyntaxKind, ...] = Field(
        default=("global", "nonlocal", "class", "async", "yield", "star_import"),
        description="Constructs a snippet may not use.",
    )


class Limits(BaseModel):
    model_config = _STRICT
    max_source_bytes: int = Field(default=65_536, gt=0, description="Size of a snippet.")
    max_nodes: int = Field(
        default=20_000, gt=0,
        description="Syntax nodes in a snippet (CPython's `ast`, counted before any analysis).",
    )
    max_depth: int = Field(
        default=100, gt=0, description="Nesting depth of the snippet's `ast` syntax tree."
    )
    max_literal_bytes: int = Field(
        default=1_000_000, gt=0, description="Size of a value a constant expression may build."
    )
    check_seconds: float = Field(
        default=2.0, gt=0,
        description="Wall time the static checks (parse, policy, types) may spend on a snippet.",
    )
    check_memory_mb: int = Field(
        default=2048, gt=0, description="Memory a check worker may add while checking."
    )
    timeout_seconds: float = Field(default=10.0, gt=0, description="Wall time of one snippet.")
    cpu_seconds: float = Field(default=10.0, gt=0, description="CPU time of one snippet.")
    memory_mb: int = Field(default=512, gt=0, description="Memory a session may add.")
    max_output_bytes: int = Field(
        default=65_536, gt=0, description="Captured output kept per snippet."
    )
    output_flood_bytes: int = Field(
        default=8_000_000, gt=0, description="Output after which a snippet is stopped."
    )
    max_answer_bytes: int = Field(
        default=1_048_576, gt=0, description="JSON size of a snippet's final answer."
    )
    tool_timeout_seconds: float | None = Field(
        default=None, gt=0,
        description="Wall time one tool call may take; past it the snippet gets a ToolError "
        "and the call is no longer waited for (it runs on in a thread of its own). Unset: "
        "tools run on the calling thread, unbounded.",
    )
    max_tool_calls: int = Field(default=100_000, gt=0, description="Tool calls per snippet.")
    max_tool_argument_bytes: int = Field(
        default=1_048_576, gt=0, description="Serialised size of one tool call's arguments."
    )
    max_tool_result_bytes: int = Field(
        default=33_554_432, gt=0, description="Serialised size of one tool call's result."
    )
    max_tool_traffic_bytes: int = Field(
        default=134_217_728, gt=0,
        description="Bytes of tool arguments and results one snippet may move in all.",
    )


class SandboxRules(BaseModel):
    model_config = _STRICT
    network: bool = Field(default=False, description="Whether snippets may open sockets.")
    filesystem: Literal["none"] = Field(
        default="none", description="What of the filesystem a snippet may reach."
    )


class ArgumentRule(BaseModel):
    """What one argument of a tool may be, checked before the tool runs."""

    model_config = _STRICT
    pattern: str | None = Field(
        default=None, description="A regular expression a string value must match, in RE2 "
        "syntax (linear time: the host checks it on every call). It is searched for: anchor "
        "it with `^...$` to match the whole value (`$` is the end of the value, not of a "
        "line).",
    )
    minimum: int | float | None = Field(default=None, description="Smallest number allowed.")
    maximum: int | float | None = Field(default=None, description="Largest number allowed.")
    max_length: int | None = Field(
        default=None, ge=0, description="Most characters of a string, items of a list or "
        "keys of a dict.",
    )
    one_of: tuple[str | int | float | bool, ...] | None = Field(
        default=None, description="The only values allowed.",
    )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            _compiled(value)  # raises ValueError with RE2's reason
        return value

    def violation(self, value: Any) -> str | None:
        """Why ``value`` breaks this rule, or None."""
        if self.one_of is not None and not any(
                isinstance(value, bool) == isinstance(allowed, bool) and value == allowed
                for allowed in self.one_of):
            return f"must be one of {list(self.one_of)}"  # True is not 1 here
        if self.pattern is not None:
            if not isinstance(value, str):
                return f"must be a string matching {self.pattern!r}"
            if _compiled(self.pattern).search(value) is None:
                return f"must match {self.pattern!r}"
        number = (isinstance(value, (int, float)) and not isinstance(value, bool)
                  and math.isfinite(value))
        if self.minimum is not None and (not number or value < self.minimum):
            return f"must be a finite number of at least {self.minimum}"
        if self.maximum is not None and (not number or value > self.maximum):
            return f"must be a finite number of at most {self.maximum}"
        if self.max_length is not None and (
                not isinstance(value, (str, list, tuple, dict)) or len(value) > self.max_length):
            return f"must have at most {self.max_length} characters or items"
        return None

    def describe(self) -> str:
        """The rule as a noun phrase: "a string matching '^a'", "a number from 0 to 5"."""
        parts = []
        if self.one_of is not None:
            parts.append("one of " + ", ".join(repr(v) for v in self.one_of))
        if self.pattern is not None:
            parts.append(f"a string matching {self.pattern!r}")
        if self.minimum is not None and self.maximum is not None:
            parts.append(f"a number from {self.minimum} to {self.maximum}")
        elif self.minimum is not None:
            parts.append(f"a number of at least {self.minimum}")
        elif self.maximum is not None:
            parts.append(f"a number of at most {self.maximum}")
        if self.max_length is not None:
            parts.append(f"at most {self.max_length} characters or items long")
        return " and ".join(parts) or "anything"


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    """The pattern compiled by RE2: matching is linear in the value, whatever the pattern
    (Python's ``re`` backtracks: one pattern and a 30-character argument can hold the host
    for minutes)."""
    try:
        return re2.compile(pattern)
    except re2.error as exc:
        raise ValueError(f"not a regular expression RE2 accepts (no backreferences or "
                         f"lookaround): {exc}") from None


class Tools(BaseModel):
    """Which tools a snippet may call, how often, and with what."""

    model_config = _STRICT
    allow: tuple[str, ...] = Field(
        default=("*",), description="Glob patterns over tool names (`get_*`); a tool must "
        "match one.",
    )
    deny: tuple[str, ...] = Field(
        default=(), description="Glob patterns over tool names; a match is denied whatever "
        "`allow` says.",
    )
    calls: dict[str, int] = Field(
        default_factory=dict, description="At most this many calls of the tool per snippet.",
    )
    arguments: dict[str, dict[str, ArgumentRule]] = Field(
        default_factory=dict, description="Per tool, per argument: what the value may be.",
    )

    @field_validator("calls")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        for name, limit in value.items():
            if limit < 0:
                raise ValueError(f"{name}: a number of calls cannot be negative")
        return value

    def permits(self, name: str) -> bool:
        return (any(fnmatch.fnmatchcase(name, p) for p in self.allow)
                and not any(fnmatch.fnmatchcase(name, p) for p in self.deny))

    @property
    def restricted(self) -> bool:
        """Whether this section says anything beyond "every tool, any arguments"."""
        return self != Tools()

    def named(self) -> frozenset[str]:
        """Tool names the section mentions by name (not by a pattern with wildcards)."""
        plain = {p for p in (*self.allow, *self.deny) if not any(c in p for c in "*?[")}
        return frozenset(plain | set(self.calls) | set(self.arguments))


_DERIVED = ("allowed_modules", "allowed_builtins", "denied_attributes", "forbidden_syntax",
            "digest")


class Policy(BaseModel):
    """A resolved policy: every allow-list concrete, ``extends`` already applied."""

    model_config = _STRICT

    name: str = "custom"
    description: str = ""
    imports: Imports = Imports()
    builtins: Builtins = Builtins()
    attributes: Attributes = Attributes()
    syntax: Syntax = Syntax()
    limits: Limits = Limits()
    sandbox: SandboxRules = SandboxRules()
    tools: Tools = Tools()
    #: Sentences for the model's system prompt, after the rules derived from the policy.
    prompt: tuple[str, ...] = ()
    source: str = Field(default="<inline>", exclude=True)

    @classmethod
    def load(cls, name_or_path: str | Path) -> Policy:
        """Load a bundled policy by name (``default``) or a policy file by path."""
        return load_policy(name_or_path)

    @classmethod
    def from_toml(
        cls, text: str, *, source: str = "<string>", base_dir: Path | None = None
    ) -> Policy:
        data = _parse_toml(text, source)
        return _resolve(data, source, base_dir or Path.cwd(), chain=())

    @cached_property
    def digest(self) -> str:
        """``sha256:<hex>`` of what the policy enforces: the same rules give the same digest
        whatever the file layout or ``extends`` chain. The name and description are labels,
        not rules, and are left out (the prompt's sentences too)."""
        rules = _canonical(self.model_dump(mode="json",
                                           exclude={"name", "description", "prompt",
                                                    "source"}))
        text = json.dumps(rules, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    def tool_name_issues(self, tools: Iterable[str] | Mapping[str, Iterable[str]]) -> list[str]:
        """Tool names the ``[tools]`` section mentions that no registered tool has, and
        argument rules on parameters a tool does not have (given ``{tool: parameters}``),
        each with the close matches: a typo must not silently allow, deny or skip a rule."""
        parameters = ({name: list(params) for name, params in tools.items()}
                      if isinstance(tools, Mapping) else {name: None for name in tools})
        known = sorted(parameters)
        issues = []
        for name in sorted(self.tools.named() - set(known)):
            close = difflib.get_close_matches(name, known, n=3)
            issues.append(f"policy {self.name!r}: [tools] names {name!r}, which is not a tool"
                          + (f" (did you mean {', '.join(map(repr, close))}?)" if close else ""))
        for name, rules in sorted(self.tools.arguments.items()):
            params = parameters.get(name)
            if params is None:
                continue
            for argument in sorted(set(rules) - set(params)):
                close = ([p for p in params if p.lower() == argument.lower()]
                         or difflib.get_close_matches(argument, params, n=3))
                issues.append(
                    f"policy {self.name!r}: [tools.arguments.{name}] has a rule on "
                    f"{argument!r}, which is not a parameter of {name}() (its parameters: "
                    f"{', '.join(params) or 'none'}); the rule would never apply"
                    + (f" (did you mean {', '.join(map(repr, close))}?)" if close else ""))
        return issues

    def prompt_rules(self) -> list[str]:
        """The policy as short plain-language rules for a model's system prompt."""
        from engine.policy.prompt import prompt_rules

        return prompt_rules(self)

    def model_copy(self, *, update: Mapping[str, Any] | None = None,
                   deep: bool = False) -> Policy:
        """A copy with ``update`` applied; the sets derived from the lists are derived anew
        (a plain copy would keep the cached ones of the original)."""
        copy = super().model_copy(update=update, deep=deep)
        for derived in _DERIVED:
            copy.__dict__.pop(derived, None)
        return copy

    @cached_property
    def allowed_modules(self) -> frozenset[str]:
        return frozenset(self.imports.allow)

    @cached_property
    def third_party_modules(self) -> frozenset[str]:
        """Allowed modules outside the standard library (numpy, pandas)."""
        return frozenset(m for m in self.allowed_modules
                         if m.split(".")[0] not in sys.stdlib_module_names)

    @cached_property
    def allowed_builtins(self) -> frozenset[str]:
        return frozenset(self.builtins.allow)

    @cached_property
    def denied_attributes(self) -> frozenset[str]:
        return frozenset(self.attributes.deny)

    @cached_property
    def forbidden_syntax(self) -> frozenset[str]:
        return frozenset(self.syntax.forbid)


def _canonical(value: Any) -> Any:
    """Every list of a policy is a set (modules, builtins, patterns, allowed values): sorted,
    so that the order a file lists them in, or an ``extends`` edit appends them in, does not
    change the digest."""
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_canonical(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value


def bundled_policy_dir() -> Path:
    """Where the bundled policies live: in the wheel, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent.parent
    installed = here / "_policies"
    return installed if installed.is_dir() else here.parent / "policies"


def bundled_policy_names() -> list[str]:
    return sorted(p.stem for p in bundled_policy_dir().glob("*.toml"))


def load_policy(name_or_path: str | Path) -> Policy:
    path = _locate(str(name_or_path), base_dir=Path.cwd(), source="<command line>")
    return _load_file(path, chain=())


def _locate(ref: str, *, base_dir: Path, source: str) -> Path:
    candidate = Path(ref)
    if ref.endswith(".toml") or len(candidate.parts) > 1:
        path = candidate if candidate.is_absolute() else base_dir / candidate
        if not path.is_file():
            raise PolicyError([ConfigIssue(source, "extends" if source != "<command line>" else "",
                                           f"policy file {ref!r} does not exist")])
        return path
    path = bundled_policy_dir() / f"{ref}.toml"
    if not path.is_file():
        names = ", ".join(bundled_policy_names())
        raise PolicyError([ConfigIssue(source, "extends" if source != "<command line>" else "",
                                       f"no bundled policy named {ref!r}; bundled: {names}, "
                                       "or give the path of a .toml file")])
    return path


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError([ConfigIssue(source, "", f"not valid TOML: {exc}")]) from exc


def _load_file(path: Path, chain: tuple[Path, ...]) -> Policy:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([ConfigIssue(source, "", f"cannot read: {exc}")]) from exc
    return _resolve(_parse_toml(text, source), source, path.parent, (*chain, path.resolve()))


def _resolve(data: dict[str, Any], source: str, base_dir: Path, chain: tuple[Path, ...]) -> Policy:
    extends = data.pop("extends", None)
    if extends is None:
        base = Policy()
    elif not isinstance(extends, str):
        raise PolicyError([ConfigIssue(source, "extends", "must be a policy name or a path")])
    else:
        parent_path = _locate(extends, base_dir=base_dir, source=source)
        if parent_path.resolve() in chain:
            cycle = " -> ".join(str(p) for p in (*chain, parent_path.resolve()))
            raise PolicyError([ConfigIssue(source, "extends", f"extends itself: {cycle}")])
        base = _load_file(parent_path, chain)
    inherited = base.model_dump()
    inherited.pop("name", None)
    inherited.pop("description", None)
    issues: list[ConfigIssue] = []
    merged = _merge(inherited, data, source, "", issues)
    if issues:
        raise PolicyError(issues)
    merged.setdefault("name", Path(source).stem if source.endswith(".toml") else "custom")
    try:
        # Strict: "yes" is not a boolean and "5" is not a number, whatever pydantic could make
        # of them; a policy that opens the network must say `true`.
        return Policy.model_validate({**_as_tuples(merged), "source": source}, strict=True)
    except ValidationError as exc:
        raise PolicyError([_issue(source, err) for err in exc.errors()]) from exc


def _as_tuples(data: Any) -> Any:
    """TOML arrays as the tuples the model declares (strict validation takes no list)."""
    if isinstance(data, dict):
        return {key: _as_tuples(value) for key, value in data.items()}
    if isinstance(data, list):
        return tuple(_as_tuples(item) for item in data)
    return data


def _merge(
    base: dict[str, Any], override: dict[str, Any], source: str, prefix: str,
    issues: list[ConfigIssue],
) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        where = f"{prefix}{key}"
        old = base.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = _merge(old, value, source, where + ".", issues)
        elif isinstance(old, (list, tuple)) and isinstance(value, dict):
            merged[key] = _edit_list(list(old), value, source, where, issues)
        else:
            merged[key] = value
    return merged


def _edit_list(
    old: list[Any], edit: dict[str, Any], source: str, where: str, issues: list[ConfigIssue]
) -> list[Any]:
    unknown = set(edit) - {"add", "remove"}
    if unknown:
        issues.append(ConfigIssue(source, where, f"a list edit takes only 'add' and 'remove', "
                                  f"not {sorted(unknown)}"))
        return old
    add, remove = edit.get("add", []), edit.get("remove", [])
    for key, items in (("add", add), ("remove", remove)):
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            issues.append(ConfigIssue(source, f"{where}.{key}", "must be a list of strings"))
            return old
    missing = [r for r in remove if r not in old]
    if missing:
        issues.append(ConfigIssue(source, f"{where}.remove",
                                  f"{missing} not in the inherited list, nothing to remove"))
    return [x for x in old if x not in remove] + [a for a in add if a not in old]


def _issue(source: str, err: Any) -> ConfigIssue:
    key = ".".join(str(part) for part in err["loc"])
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    elif "input" in err and not isinstance(err["input"], dict):
        message += f" (got {err['input']!r})"
    return ConfigIssue(source, key, message)
