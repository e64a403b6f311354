"""The policy in plain language, for a model's system prompt.

Restricting the search space in the prompt is half of the policy: a model that knows it
cannot import ``os`` does not try. The rules are short because small models have small
contexts.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from engine.policy.vocabulary import DEFAULT_DENIED_ATTRIBUTES, SYNTAX_LABELS

if TYPE_CHECKING:
    from engine.policy.model import Policy

_SAFE_BUILTIN_HINT = 8  # how many denied builtins to name explicitly


def prompt_rules(policy: Policy) -> list[str]:
    """One sentence per rule, most important first."""
    rules = [
        "Write plain Python 3. The tools are already defined as functions: call them "
        "directly, do not import or redefine them.",
    ]
    allowed = sorted(policy.allowed_modules)
    if allowed and "import" not in policy.forbidden_syntax:
        rules.append("You may import only: " + ", ".join(allowed) + ".")
    else:
        rules.append("You cannot import any module.")
    if not policy.sandbox.network:
        rules.append("You cannot access the network.")
    if policy.sandbox.filesystem == "none":
        rules.append("You cannot read or write files (no `open`).")
    denied = [
        n for n in ("eval", "exec", "compile", "getattr", "setattr", "globals", "vars", "type")
        if n not in policy.allowed_builtins
    ][:_SAFE_BUILTIN_HINT]
    if denied:
        allowed_private = ", ".join(policy.attributes.allow_private_names)
        rules.append("Do not use " + ", ".join(denied) + ", or any name or attribute that "
                     "starts with an underscore"
                     + (f" (except {allowed_private})." if allowed_private else "."))
    forbidden = [SYNTAX_LABELS[k] for k in policy.syntax.forbid if k != "import"]
    if forbidden:
        rules.append("Do not use " + ", ".join(forbidden) + ".")
    if "class" not in policy.forbidden_syntax:
        rules.append("Classes are fine: ordinary special methods (__init__, __repr__, __eq__, "
                     "...), super() without arguments, self._name in the class's own methods; "
                     "bases only your own classes, exceptions, enums, NamedTuple or TypedDict; "
                     "no metaclasses or __getattr__-style hooks.")
    limits = policy.limits
    rules.append(
        f"Each snippet may run for at most {limits.timeout_seconds:g} s and print at most "
        f"{limits.max_output_bytes // 1024} KB; aggregate in code and print only what you need."
    )
    rules.extend(tool_limit_rules(policy))
    rules.extend(policy.prompt)
    rules.append("Variables you define stay available to your next snippets.")
    rules.append("When you have the answer, call final_answer(value).")
    return rules


def tool_limit_rules(policy: Policy) -> list[str]:
    """The per-tool call limits and argument rules, one line per tool (for the prompt: the
    tools a policy does not permit are simply absent from it)."""
    tools = policy.tools
    lines = []
    for name in sorted(set(tools.calls) | set(tools.arguments)):
        if not tools.permits(name):
            continue
        parts = []
        if name in tools.calls:
            limit = tools.calls[name]
            parts.append(f"call it at most {limit} time{'s' if limit != 1 else ''} per snippet")
        parts.extend(f"`{argument}` must be {rule.describe()}"
                     for argument, rule in tools.arguments.get(name, {}).items())
        lines.append(f"{name}(): " + "; ".join(parts) + ".")
    return lines


def tool_permission_lines(policy: Policy) -> list[str]:
    """Which tools the policy permits, for people (``codeact policy show``)."""
    tools = policy.tools
    if not tools.restricted:
        return ["Tools: every tool of the toolset, any arguments."]
    lines = []
    if tools.allow != ("*",):
        lines.append("Tools: only those matching " + ", ".join(tools.allow) + ".")
    if tools.deny:
        lines.append("Tools never permitted: " + ", ".join(tools.deny) + ".")
    if tools.calls or tools.arguments:
        lines.append("Call limits and argument rules: as in the rules above.")
    return lines


def risky_capabilities(policy: Policy) -> list[str]:
    """What this policy opens beyond the default's guarantees, in plain words."""
    found = []
    if policy.sandbox.network:
        found.append("snippets may open network connections (sandbox.network = true)")
    if policy.attributes.allow_private:
        found.append("snippets may use private attributes (attributes.allow_private = true)")
    if policy.attributes.allow_dunder:
        found.append("snippets may use the interpreter's double-underscore attributes "
                     f"{', '.join(policy.attributes.allow_dunder)} (attributes.allow_dunder)")
    reopened = sorted(set(DEFAULT_DENIED_ATTRIBUTES) - policy.denied_attributes)
    if reopened:
        found.append("attributes denied by default are allowed: " + ", ".join(reopened)
                     + " (attributes.deny)")
    return found


def unimportable_modules(policy: Policy) -> list[str]:
    """Allowed modules this Python cannot import (a snippet's import of them would fail)."""
    missing = []
    for name in sorted(policy.allowed_modules):
        try:
            found = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            found = None
        if found is None:
            missing.append(name)
    return missing


def render_prompt_rules(policy: Policy) -> str:
    return "\n".join(f"- {rule}" for rule in prompt_rules(policy))
