"""What a policy change lets model-written code do, for the people who review it.

A textual diff of two policy files does not answer the reviewer's question: ``extends`` and
list edits (``{ add = [...], remove = [...] }``) hide the rules in force, and whether a changed
line opens or closes something depends on the key (a name added to ``imports.allow`` opens,
the same name added to ``attributes.deny`` closes). So the diff compares two *resolved*
policies and says, change by change, whether the new one lets a snippet do more. Where the
direction cannot be known (a pattern replaced by another), the change is flagged as widening:
a reviewer can dismiss a false alarm, not a missed one.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, JsonValue, computed_field
from pydantic_core import to_jsonable_python

from engine.policy.model import ArgumentRule, Policy

DIFF_SCHEMA_ID: Final = "codeact.policy-diff/v1"

#: ``labels`` (name, description, prompt) first, then the rule sections in the model's order.
Section = Literal[
    "labels", "imports", "builtins", "attributes", "syntax", "limits", "sandbox", "tools",
]
Kind = Literal["added", "removed", "raised", "lowered", "changed"]

SECTIONS: tuple[Section, ...] = get_args(Section)
_KINDS: tuple[Kind, ...] = get_args(Kind)


class PolicyChange(BaseModel):
    """One difference between two policies, in capability terms."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    section: Section
    key: str = Field(description="Where in the policy: `imports.allow`, "
                     "`tools.arguments.send_email.to`.")
    kind: Kind
    old: JsonValue = Field(default=None, description="The old value; None when absent.")
    new: JsonValue = Field(default=None, description="The new value; None when absent.")
    widens: bool = Field(description="Whether the new policy lets a snippet do more.")
    summary: str = Field(description="The change in one plain-language line.")


class PolicyDiff(BaseModel):
    """The changes from ``old`` to ``new``, sorted by section (the model's order), then key."""

    model_config = ConfigDict(frozen=True, serialize_by_alias=True, validate_by_name=True,
                              validate_by_alias=True)

    schema_: Literal["codeact.policy-diff/v1"] = Field(default=DIFF_SCHEMA_ID, alias="schema")
    old_name: str
    new_name: str
    old_digest: str
    new_digest: str
    changes: tuple[PolicyChange, ...] = ()

    # In the JSON too: a CI step gating on widening should not have to scan the changes.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def widens(self) -> bool:
        """Whether any change lets a snippet do more."""
        return any(change.widens for change in self.changes)

    def to_json(self, *, indent: int | None = 2) -> str:
        # by_alias spelled out: pydantic before 2.11 ignores ``serialize_by_alias``.
        return self.model_dump_json(by_alias=True, indent=indent)

    def render_text(self) -> str:
        """For people: both policies, one line per change (widening ones marked), a verdict."""
        width = max(len(self.old_name), len(self.new_name))
        lines = [f"--- {self.old_name:<{width}}  {self.old_digest}",
                 f"+++ {self.new_name:<{width}}  {self.new_digest}"]
        lines += [f"{_mark(change)}  {change.key}: {change.summary}" for change in self.changes]
        lines.append(self._verdict())
        return "\n".join(lines) + "\n"

    def _verdict(self) -> str:
        if not self.changes:
            return "no changes: the two policies enforce the same rules"
        widening = sum(change.widens for change in self.changes)
        total = f"{len(self.changes)} change{'s' if len(self.changes) != 1 else ''}"
        if not widening:
            return f"{total}, none widens what a snippet may do"
        return f"{total}, {widening} widen{'s' if widening == 1 else ''} what a snippet may do"


def _mark(change: PolicyChange) -> str:
    if change.section == "labels":
        return "  label  "
    return "+ WIDENS " if change.widens else "- narrows"


def diff_policies(old: Policy, new: Policy) -> PolicyDiff:
    """Every difference between two resolved policies, each saying whether it widens."""
    changes = [*_label_changes(old, new)]
    for section in SECTIONS[1:]:
        old_part, new_part = getattr(old, section), getattr(new, section)
        for field in type(old_part).model_fields:
            before, after = getattr(old_part, field), getattr(new_part, field)
            if before != after:
                changes += _field_changes(section, f"{section}.{field}", before, after)
    return PolicyDiff(old_name=old.name, new_name=new.name, old_digest=old.digest,
                      new_digest=new.digest,
                      changes=tuple(sorted(changes, key=_order)))


def _order(change: PolicyChange) -> tuple[int, str, int, str]:
    values = json.dumps([change.old, change.new], sort_keys=True)
    return SECTIONS.index(change.section), change.key, _KINDS.index(change.kind), values


def _label_changes(old: Policy, new: Policy) -> Iterator[PolicyChange]:
    # Labels, not rules: the digest leaves them out, and so does any verdict on widening.
    if old.name != new.name:
        yield PolicyChange(section="labels", key="name", kind="changed", old=old.name,
                           new=new.name, widens=False,
                           summary=f"renames the policy from `{old.name}` to `{new.name}`")
    if old.description != new.description:
        yield PolicyChange(section="labels", key="description", kind="changed",
                           old=old.description, new=new.description, widens=False,
                           summary="changes the description")
    if old.prompt != new.prompt:
        yield PolicyChange(section="labels", key="prompt", kind="changed",
                           old=list(old.prompt), new=list(new.prompt), widens=False,
                           summary="changes the sentences added to the model's prompt")


def _field_changes(section: Section, key: str, old: Any, new: Any) -> list[PolicyChange]:
    if key in ("tools.allow", "tools.deny"):
        return _tool_pattern_changes(key, old, new)
    if key in _LISTS:
        return _list_changes(section, key, old, new, _LISTS[key])
    if key in _SWITCHES:
        return [_switch_change(section, key, old, new, _SWITCHES[key])]
    if section == "limits":
        return [_limit_change(key, old, new)]
    if key == "tools.calls":
        return _calls_changes(old, new)
    if key == "tools.arguments":
        return _arguments_changes(old, new)
    return [_unknown_change(section, key, old, new)]


# --- allow-lists and deny-lists ----------------------------------------------------------------


@dataclass(frozen=True)
class _ListWording:
    """How to say that an item joined or left a list, and which of the two opens."""

    added: str
    removed: str
    adding_widens: bool = True


_LISTS: dict[str, _ListWording] = {
    "imports.allow": _ListWording("allows importing `{}`", "no longer allows importing `{}`"),
    "builtins.allow": _ListWording("allows the builtin `{}`", "no longer allows the builtin `{}`"),
    "attributes.allow_dunder": _ListWording(
        "allows the attribute `{}`", "no longer allows the attribute `{}`"),
    "attributes.read_dunder": _ListWording(
        "allows reading the attribute `{}`", "no longer allows reading the attribute `{}`"),
    "attributes.deny": _ListWording(
        "denies the attribute `{}`", "no longer denies the attribute `{}`", adding_widens=False),
    "attributes.allow_private_names": _ListWording(
        "allows the private attribute `{}`", "no longer allows the private attribute `{}`"),
    "attributes.return_only": _ListWording(
        "allows `{}` only without a destination", "allows `{}` with a destination",
        adding_widens=False),
    "syntax.forbid": _ListWording("forbids `{}`", "no longer forbids `{}`", adding_widens=False),
    "tools.allow": _ListWording("permits tool pattern `{}`",
                                "no longer permits tool pattern `{}`"),
    "tools.deny": _ListWording("denies tool pattern `{}`", "no longer denies tool pattern `{}`",
                               adding_widens=False),
}


def _list_changes(section: Section, key: str, old: Sequence[str], new: Sequence[str],
                  wording: _ListWording) -> list[PolicyChange]:
    # Membership is what a list means here; a reordered list enforces the same rules.
    added = [item for item in new if item not in old]
    removed = [item for item in old if item not in new]
    return [
        *(PolicyChange(section=section, key=key, kind="added", new=item,
                       widens=wording.adding_widens, summary=wording.added.format(item))
          for item in added),
        *(PolicyChange(section=section, key=key, kind="removed", old=item,
                       widens=not wording.adding_widens, summary=wording.removed.format(item))
          for item in removed),
    ]


# --- switches ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SwitchWording:
    """How to say that a boolean was turned on or off; on always opens."""

    on: str
    off: str


_SWITCHES: dict[str, _SwitchWording] = {
    "attributes.allow_private": _SwitchWording(
        "allows private (single-underscore) attributes",
        "no longer allows private (single-underscore) attributes"),
    "sandbox.network": _SwitchWording("opens the network", "closes the network"),
}


def _switch_change(section: Section, key: str, old: bool, new: bool,
                   wording: _SwitchWording) -> PolicyChange:
    return PolicyChange(section=section, key=key, kind="changed", old=old, new=new, widens=new,
                        summary=wording.on if new else wording.off)


# --- limits ------------------------------------------------------------------------------------

#: What each ``[limits]`` field bounds, and its unit. Every one is an upper bound (more is
#: wider) and an unset one (None) is no bound at all.
_LIMITS: dict[str, tuple[str, str]] = {
    "max_source_bytes": ("the size of a snippet", "bytes"),
    "max_nodes": ("the syntax nodes in a snippet", ""),
    "max_depth": ("the nesting depth of a snippet", ""),
    "max_literal_bytes": ("the size of a constant expression's value", "bytes"),
    "check_seconds": ("the time the static checks may spend on a snippet", "s"),
    "check_memory_mb": ("the memory a check worker may add", "MB"),
    "timeout_seconds": ("the wall time per snippet", "s"),
    "cpu_seconds": ("the CPU time per snippet", "s"),
    "memory_mb": ("the memory a session may add", "MB"),
    "max_output_bytes": ("the output kept per snippet", "bytes"),
    "output_flood_bytes": ("the output after which a snippet is stopped", "bytes"),
    "max_answer_bytes": ("the size of a final answer", "bytes"),
    "tool_timeout_seconds": ("the wall time per tool call", "s"),
    "max_tool_calls": ("the tool calls per snippet", ""),
    "max_tool_argument_bytes": ("the size of one tool call's arguments", "bytes"),
    "max_tool_result_bytes": ("the size of one tool call's result", "bytes"),
    "max_tool_traffic_bytes": ("the tool traffic per snippet", "bytes"),
}


def _limit_change(key: str, old: float | None, new: float | None) -> PolicyChange:
    field = key.removeprefix("limits.")
    label, unit = _LIMITS.get(field, (f"`{field}`", ""))
    kind, widens = _bound_direction(old, new)
    summary = {
        "added": f"bounds {label} at {_amount(new, unit)}",
        "removed": f"lifts the bound on {label} (was {_amount(old, unit)})",
        "raised": f"raises {label} from {_amount(old, unit)} to {_amount(new, unit)}",
        "lowered": f"lowers {label} from {_amount(old, unit)} to {_amount(new, unit)}",
    }[kind]
    return PolicyChange(section="limits", key=key, kind=kind, old=old, new=new, widens=widens,
                        summary=summary)


def _bound_direction(old: float | None, new: float | None) -> tuple[Kind, bool]:
    """The kind of change to an upper bound, and whether it widens (None: unbounded)."""
    if old is None:
        return "added", False
    if new is None:
        return "removed", True
    return ("raised", True) if new > old else ("lowered", False)


_BINARY_UNITS = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))


def _amount(value: float | None, unit: str) -> str:
    if value is None:
        return "unbounded"
    if unit == "bytes" and isinstance(value, int):
        for name, size in _BINARY_UNITS:
            if value % size == 0:
                return f"{value // size:,} {name}"
    number = f"{value:,}" if isinstance(value, int) else f"{value:g}"
    return f"{number} {unit}".rstrip()


# --- tools -------------------------------------------------------------------------------------


def _tool_pattern_changes(key: str, old: Sequence[str],
                          new: Sequence[str]) -> list[PolicyChange]:
    # Going from `allow = ["*"]` to a list of names adds patterns that permit nothing new; to
    # flag those as widening would make every restriction of the tools look like an opening.
    # Only what is certain counts as covered: a `*` pattern, or a name without wildcards that
    # another pattern matches. Anything else keeps the flag.
    changes = _list_changes("tools", key, old, new, _LISTS[key])
    return [_unflagged_if_covered(change, old if change.kind == "added" else new)
            for change in changes]


def _unflagged_if_covered(change: PolicyChange, others: Sequence[str]) -> PolicyChange:
    pattern = cast(str, change.new if change.kind == "added" else change.old)
    if not change.widens or not _covered(pattern, others):
        return change
    cover = next(p for p in others if p == "*" or fnmatch.fnmatchcase(pattern, p))
    why = (f"already permitted by `{cover}`" if change.kind == "added"
           else f"still denied by `{cover}`")
    return change.model_copy(update={"widens": False, "summary": f"{change.summary} ({why})"})


def _covered(pattern: str, others: Sequence[str]) -> bool:
    if "*" in others:
        return True
    plain = not any(c in pattern for c in "*?[")
    return plain and any(fnmatch.fnmatchcase(pattern, other) for other in others)


def _calls_changes(old: dict[str, int], new: dict[str, int]) -> list[PolicyChange]:
    changes = []
    for tool in sorted(old.keys() | new.keys()):
        before, after = old.get(tool), new.get(tool)
        if before == after:
            continue
        kind, widens = _bound_direction(before, after)
        summary = {
            "added": f"limits {tool}() to {_calls(after)} per snippet",
            "removed": f"lifts the limit of {_calls(before)} per snippet on {tool}()",
            "raised": f"raises the calls of {tool}() per snippet from {before} to {after}",
            "lowered": f"lowers the calls of {tool}() per snippet from {before} to {after}",
        }[kind]
        changes.append(PolicyChange(section="tools", key=f"tools.calls.{tool}", kind=kind,
                                    old=before, new=after, widens=widens, summary=summary))
    return changes


def _calls(count: int | None) -> str:
    return f"{count} call{'s' if count != 1 else ''}"


_Rules = dict[str, dict[str, ArgumentRule]]


def _arguments_changes(old: _Rules, new: _Rules) -> list[PolicyChange]:
    changes = []
    for tool in sorted(old.keys() | new.keys()):
        old_rules, new_rules = old.get(tool, {}), new.get(tool, {})
        for argument in sorted(old_rules.keys() | new_rules.keys()):
            before, after = old_rules.get(argument), new_rules.get(argument)
            if before != after:
                changes += _rule_changes(f"tools.arguments.{tool}.{argument}",
                                         f"{tool}({argument})", before, after)
    return changes


def _rule_changes(key: str, where: str, old: ArgumentRule | None,
                  new: ArgumentRule | None) -> list[PolicyChange]:
    if old is None or new is None:
        return [_whole_rule_change(key, where, old, new)]
    # A value passes a rule only when it passes every bound, so each bound is judged alone.
    changes = []
    for bound in type(old).model_fields:
        before, after = getattr(old, bound), getattr(new, bound)
        if before != after:
            judge = _BOUNDS.get(bound, _unknown_bound)
            changes += judge(f"{key}.{bound}", where, before, after)
    return changes


def _whole_rule_change(key: str, where: str, old: ArgumentRule | None,
                       new: ArgumentRule | None) -> PolicyChange:
    if new is not None:
        return PolicyChange(section="tools", key=key, kind="added", new=_rule_json(new),
                            widens=False,
                            summary=f"adds the argument rule on {where}: {new.describe()}")
    return PolicyChange(section="tools", key=key, kind="removed", old=_rule_json(old),
                        widens=True, summary=f"removes the argument rule on {where}")


def _rule_json(rule: ArgumentRule | None) -> JsonValue:
    if rule is None:
        return None
    return cast(JsonValue, rule.model_dump(mode="json", exclude_none=True))


_Judge = Callable[[str, str, Any, Any], list[PolicyChange]]


def _pattern_change(key: str, where: str, old: str | None, new: str | None) -> list[PolicyChange]:
    kind: Kind
    if old is None:
        kind, widens, summary = "added", False, f"requires {where} to match {new!r}"
    elif new is None:
        kind, widens, summary = "removed", True, f"no longer requires {where} to match {old!r}"
    else:
        # Two regular expressions cannot be ordered in general: flag it.
        kind, widens = "changed", True
        summary = f"changes the pattern {where} must match from {old!r} to {new!r}"
    return [PolicyChange(section="tools", key=key, kind=kind, old=old, new=new, widens=widens,
                         summary=summary)]


def _number_bound(noun: str, requirement: str, *, upper: bool) -> _Judge:
    """A judge for a numeric bound of a rule; a lower bound (``minimum``) widens downwards."""

    def judge(key: str, where: str, old: float | None, new: float | None) -> list[PolicyChange]:
        kind, widens = _bound_direction(old, new)
        if not upper and kind in ("raised", "lowered"):
            widens = not widens
        summary = {
            "added": f"requires {where} {requirement.format(new)}",
            "removed": f"no longer requires {where} {requirement.format(old)}",
            "raised": f"raises the {noun} of {where} from {old} to {new}",
            "lowered": f"lowers the {noun} of {where} from {old} to {new}",
        }[kind]
        return [PolicyChange(section="tools", key=key, kind=kind, old=old, new=new,
                             widens=widens, summary=summary)]

    return judge


def _one_of_change(key: str, where: str, old: tuple[JsonValue, ...] | None,
                   new: tuple[JsonValue, ...] | None) -> list[PolicyChange]:
    if old is None:
        shown = ", ".join(map(repr, new or ()))
        summary = f"allows {where} only {shown}" if shown else f"allows no value of {where}"
        return [PolicyChange(section="tools", key=key, kind="added", new=list(new or ()),
                             widens=False, summary=summary)]
    if new is None:
        return [PolicyChange(section="tools", key=key, kind="removed", old=list(old),
                             widens=True, summary=f"no longer limits {where} to fixed values")]
    # By JSON spelling: 1, 1.0 and true are different values in a policy file.
    old_seen, new_seen = {_spelling(v) for v in old}, {_spelling(v) for v in new}
    return [
        *(PolicyChange(section="tools", key=key, kind="added", new=value, widens=True,
                       summary=f"lets {where} also be {value!r}")
          for value in new if _spelling(value) not in old_seen),
        *(PolicyChange(section="tools", key=key, kind="removed", old=value, widens=False,
                       summary=f"no longer lets {where} be {value!r}")
          for value in old if _spelling(value) not in new_seen),
    ]


def _spelling(value: JsonValue) -> str:
    return json.dumps(value)


_BOUNDS: dict[str, _Judge] = {
    "pattern": _pattern_change,
    "minimum": _number_bound("minimum", "to be at least {}", upper=False),
    "maximum": _number_bound("maximum", "to be at most {}", upper=True),
    "max_length": _number_bound("maximum length", "to be at most {} characters or items long",
                                upper=True),
    "one_of": _one_of_change,
}


# --- anything the model grows that this module does not know yet ------------------------------


def _unknown_bound(key: str, where: str, old: Any, new: Any) -> list[PolicyChange]:
    return [_unknown_change("tools", key, old, new)]


def _unknown_change(section: Section, key: str, old: Any, new: Any) -> PolicyChange:
    # A field added to the model after this module: say that it changed, and flag it.
    before = cast(JsonValue, to_jsonable_python(old))
    after = cast(JsonValue, to_jsonable_python(new))
    return PolicyChange(section=section, key=key, kind="changed", old=before, new=after,
                        widens=True, summary=f"changes `{key}` from {before!r} to {after!r}")


__all__ = ["DIFF_SCHEMA_ID", "SECTIONS", "Kind", "PolicyChange", "PolicyDiff", "Section",
           "diff_policies"]
