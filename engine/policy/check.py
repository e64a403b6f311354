"""Stage 2: enforce the policy on a parsed snippet."""

from __future__ import annotations

import libcst as cst

from engine import codes
from engine.diagnostics import Diagnostic, Stage
from engine.parse import ParsedSnippet
from engine.policy.model import Policy
from engine.policy.rules import (
    AttributeRule,
    Findings,
    FormatRule,
    IdentifierRule,
    ImportRule,
    PolicyContext,
    SizeRule,
    SyntaxRule,
    check_names,
)


def check_source_size(source: str, policy: Policy) -> Diagnostic | None:
    """The one policy limit that applies before parsing: parsing itself must stay cheap."""
    size = len(source.encode("utf-8", "surrogatepass"))
    limit = policy.limits.max_source_bytes
    if size <= limit:
        return None
    entry = codes.get("P100")
    return Diagnostic(
        stage=Stage.POLICY, code=entry.code, rule=entry.rule,
        message=f"the snippet is {size} bytes; the policy allows {limit}",
        line=1, column=1, hint=entry.hint,
    )


def check_policy(snippet: ParsedSnippet, ctx: PolicyContext) -> list[Diagnostic]:
    """Every policy violation in the snippet, in source order."""
    findings = Findings(snippet)
    imports = ImportRule(findings, ctx)
    attributes = AttributeRule(findings, ctx)
    size = SizeRule(findings, ctx)
    cst.visit_batched(
        snippet.module,
        [IdentifierRule(findings), imports, attributes, SyntaxRule(findings, ctx),
         FormatRule(findings)],
        before_visit=size.before_visit,
        after_leave=size.after_leave,
    )
    size.finish()
    non_import = check_names(snippet, ctx, findings)
    aliases = {k: v for k, v in ctx.session_modules.items() if k not in snippet.module_bindings}
    aliases.update({k: v for k, v in imports.aliases.items() if k not in non_import})
    attributes.resolve_modules(aliases, findings)
    return sorted(findings.items, key=lambda d: (d.line, d.column, d.code))
