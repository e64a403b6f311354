"""Reference pages generated from the code, so that they cannot drift from it.

    python -m engine.docgen docs/

writes ``docs/policy-reference.md`` (every policy key, its type, default and meaning, from the
pydantic model) and ``docs/diagnostics.md`` (every diagnostic code, from the catalog).
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from engine import codes
from engine.diagnostics import Stage
from engine.policy.model import Policy

_SECTIONS_INTRO = {
    "imports": "Modules a snippet may import.",
    "builtins": "Builtins a snippet may use.",
    "attributes": "Attribute access.",
    "syntax": "Constructs a snippet may not use.",
    "limits": "Sizes and resources, static and at run time.",
    "sandbox": "What the sandbox process may reach.",
}


def _type_text(annotation: Any) -> str:
    text = repr(annotation) if typing.get_origin(annotation) else getattr(
        annotation, "__name__", repr(annotation))
    # A bar would end the table cell, even inside a code span.
    return text.replace("typing.", "").replace("engine.policy.model.", "").replace("|", "\\|")


def _default_text(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, tuple):
        if len(value) > 8:
            return "`[" + ", ".join(f'"{v}"' for v in value[:8]) + f", …]` ({len(value)} items)"
        return "`[" + ", ".join(f'"{v}"' for v in value) + "]`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def policy_reference() -> str:
    lines = [
        "# Policy reference",
        "",
        "Generated from `engine/policy/model.py` by `python -m engine.docgen docs/`; do not edit.",
        "",
        "A policy file is TOML. Top-level keys: `name`, `description`, `extends` (a bundled "
        "policy name or a path relative to the file). List-valued keys either replace what the "
        "policy extends (`allow = [\"math\"]`) or edit it (`allow = { add = [\"csv\"], remove = "
        "[\"re\"] }`). Unknown keys and wrong types are errors that name the key and the file.",
        "",
        "Defaults below are the model's; the bundled `default` policy sets its own lists.",
        "",
    ]
    for section, field in Policy.model_fields.items():
        model = field.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        lines += [f"## `[{section}]`", "", _SECTIONS_INTRO.get(section, ""), "",
                  "| key | type | default | meaning |", "|---|---|---|---|"]
        for name, sub in model.model_fields.items():
            lines.append(f"| `{name}` | `{_type_text(sub.annotation)}` | "
                         f"{_default_text(sub.default)} | {sub.description or ''} |")
        lines.append("")
    return "\n".join(lines)


def diagnostics_catalog() -> str:
    lines = [
        "# Diagnostic codes",
        "",
        "Generated from `engine/codes.py` by `python -m engine.docgen docs/`; do not edit. "
        "`codeact explain CODE` prints one entry.",
        "",
    ]
    titles = {Stage.PARSE: "Parse (S)", Stage.POLICY: "Policy (P)", Stage.TYPES: "Types (T)",
              Stage.RUNTIME: "Runtime (R)", Stage.EXTRACT: "Extraction of code from a "
                                                          "model's reply (X)"}
    for stage, title in titles.items():
        lines += [f"## {title}", ""]
        for entry in codes.CATALOG.values():
            if entry.stage is not stage:
                continue
            lines += [f"### {entry.code} `{entry.rule}`: {entry.title}", "", entry.explanation,
                      ""]
            if entry.hint:
                lines += [f"**What to do:** {entry.hint}", ""]
            if entry.example:
                lines += ["```python", entry.example, "```", ""]
    return "\n".join(lines)


PAGES = {"policy-reference.md": policy_reference, "diagnostics.md": diagnostics_catalog}


def main(argv: list[str] | None = None) -> None:
    target = Path((argv or sys.argv[1:] or ["docs"])[0])
    target.mkdir(parents=True, exist_ok=True)
    for name, render in PAGES.items():
        (target / name).write_text(render() + "\n", encoding="utf-8")
        print(f"wrote {target / name}")


if __name__ == "__main__":
    main()
