"""The policy's rules: LibCST visitors that collect every violation, never raise.

Each rule is a small visitor over one parsed snippet; a snippet with five violations gets five
diagnostics. Rules share a ``Findings`` sink that turns a node into a located diagnostic.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import libcst as cst
from libcst.metadata import (
    BuiltinAssignment,
    ClassScope,
    CodeRange,
    ComprehensionScope,
    FunctionScope,
    GlobalScope,
    ImportAssignment,
)

from engine import codes
from engine.diagnostics import Diagnostic, line_of
from engine.parsing import ParsedSnippet
from engine.policy import literals, modules
from engine.policy.context import PolicyContext, protected_names
from engine.policy.hints import denied_attribute_hint, unavailable_hint
from engine.policy.model import Policy
from engine.policy.special_methods import CLASS_DUNDERS, is_dunder, is_receiver_private
from engine.policy.triggers import FORMAT_METHODS
from engine.policy.vocabulary import SYNTAX_HINTS, SYNTAX_LABELS, SyntaxKind
from engine.tools import ENGINE_NAMES


class Findings:
    """Collects violations; locates them only at the end, and only if there are any.

    Position metadata costs more than all the rules together, and a clean snippet (the
    common case) never needs it.
    """

    def __init__(self, snippet: ParsedSnippet) -> None:
        self.snippet = snippet
        self._found: list[tuple[cst.CSTNode | CodeRange, codes.CodeName, str, str | None]] = []

    def add(self, node: cst.CSTNode, code: codes.CodeName, message: str,
            hint: str | None = None) -> None:
        self._found.append((node, code, message, hint))

    def add_at(self, where: CodeRange, code: codes.CodeName, message: str,
               hint: str | None = None) -> None:
        """A finding located by a rule that works on CPython's tree (0-based columns)."""
        self._found.append((where, code, message, hint))

    def diagnostics(self) -> list[Diagnostic]:
        if not self._found:
            return []
        positions = self.snippet.positions
        lines = self.snippet.source.splitlines()
        seen: set[tuple[str, int, int]] = set()
        items: list[Diagnostic] = []
        for node, code, message, hint in self._found:
            where = node if isinstance(node, CodeRange) else positions.get(node)
            line, column = (where.start.line, where.start.column + 1) if where else (1, 1)
            if (code, line, column) in seen:
                continue
            seen.add((code, line, column))
            items.append(codes.diagnostic(
                code, message, source_line=line_of(lines, line), line=line, column=column,
                end_line=where.end.line if where else None,
                end_column=where.end.column + 1 if where else None, hint=hint))
        return sorted(items, key=lambda d: (d.line, d.column, d.code))


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _allowed_list(names: frozenset[str]) -> str:
    return ", ".join(sorted(names)) if names else "none"


class Rule(cst.BatchableCSTVisitor):
    """What every policy rule is: a LibCST visitor that collects findings, never raises.

    A rule is made for one snippet with the findings and the policy context; during the one
    traversal of the tree (``policy.check``) its ``visit_<Node>`` and ``leave_<Node>`` methods
    run (the per-attribute forms ``visit_<Node>_<attr>`` are refused when the rule is
    registered, not silently skipped). ``finish`` runs after the traversal, once names and
    scopes are known, in the order of the registry. ``applies`` keeps a rule out of snippets
    under a policy that makes it moot.
    """

    def __init__(self, findings: Findings, ctx: PolicyContext) -> None:
        self.findings = findings
        self.ctx = ctx

    @classmethod
    def applies(cls, policy: Policy) -> bool:
        return True

    def finish(self, run: RuleRun) -> None:
        """Findings that need the whole snippet seen (default: none)."""


_R = TypeVar("_R", bound=Rule)


@dataclass
class RuleRun:
    """One snippet's policy check after its traversal: what a rule's ``finish`` may read."""

    snippet: ParsedSnippet
    ctx: PolicyContext
    findings: Findings
    rules: Sequence[Rule]
    #: names some statement binds to something other than an import (``check_names``)
    non_import: frozenset[str] = frozenset()

    def rule(self, kind: type[_R]) -> _R | None:
        """The rule of that class in this run, if the policy applies it."""
        return next((r for r in self.rules if isinstance(r, kind)), None)


class IdentifierRule(Rule):
    """Identifiers must be in NFKC form: Python reads ``ｏｐｅｎ`` as ``open``."""

    def visit_Name(self, node: cst.Name) -> None:
        normal = unicodedata.normalize("NFKC", node.value)
        if normal != node.value:
            self.findings.add(
                node, "P112",
                f"identifier `{node.value}` is not in normal form; Python reads it as `{normal}`",
                hint=f"write `{normal}` with plain characters",
            )


class ImportRule(Rule):
    """Imports must name allowed modules; submodules and private names need their own allowance."""

    def __init__(self, findings: Findings, ctx: PolicyContext) -> None:
        super().__init__(findings, ctx)
        self.allowed = ctx.policy.allowed_modules
        self.builtin_classes = modules.builtin_classes(ctx.policy.allowed_builtins)
        #: alias -> module, for every name an import statement binds to a module
        self.aliases: dict[str, str] = {}

    def _check_module(self, node: cst.CSTNode, dotted: str) -> bool:
        parts = dotted.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in self.allowed:
                continue
            allowed = _allowed_list(self.allowed)
            if i == 1:
                self.findings.add(
                    node, "P101", f"module `{prefix}` cannot be imported",
                    hint=_join(unavailable_hint(prefix, self.ctx.tools, ()),
                               f"allowed modules are: {allowed}"),
                )
            else:
                self.findings.add(
                    node, "P102", f"submodule `{prefix}` is not allowed",
                    hint=f"only the listed modules can be reached; allowed modules are: {allowed}",
                )
            return False
        return True

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = _dotted(alias.name)
            if self._check_module(alias.name, dotted):
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.aliases[alias.asname.name.value] = dotted
                else:
                    top = dotted.split(".")[0]
                    self.aliases[top] = top

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.relative:
            self.findings.add(node, "P103", "relative imports have no meaning in a snippet",
                              hint="import modules by their absolute name")
            return
        if node.module is None:
            return
        dotted = _dotted(node.module)
        if not self._check_module(node.module, dotted):
            return
        if isinstance(node.names, cst.ImportStar):
            return  # the syntax rule decides about star imports
        for alias in node.names:
            name = alias.name.value if isinstance(alias.name, cst.Name) else _dotted(alias.name)
            bound = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                bound = alias.asname.name.value
            if name.startswith("_"):
                self.findings.add(alias.name, "P104", f"`{name}` is private to `{dotted}`",
                                  hint=f"use the public names of `{dotted}`")
                continue
            if name in self.ctx.policy.denied_attributes:
                self.findings.add(alias.name, "P121", f"`{dotted}.{name}` is not allowed",
                                  hint=denied_attribute_hint(name))
                continue
            hidden = modules.hidden_attribute(dotted, name, self.builtin_classes)
            if hidden is not None:
                self.findings.add(alias.name, "P121", f"`{dotted}.{name}` is not available",
                                  hint=hidden)
                continue
            sub = modules.submodule_of(dotted, name)
            if sub is not None and self._check_module(alias.name, sub):
                self.aliases[bound] = sub


def _root_name(node: cst.BaseExpression) -> str | None:
    """The name an attribute/subscript chain starts from (``a`` in ``a.b[0].c``)."""
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _names_in(target: cst.BaseExpression) -> Iterator[cst.Name]:
    if isinstance(target, cst.Name):
        yield target
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _names_in(element.value)


def _attributes_in(target: cst.BaseExpression) -> Iterator[cst.Attribute]:
    if isinstance(target, cst.Attribute):
        yield target
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _attributes_in(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _attributes_in(target.value)


def _is_super_call(node: cst.BaseExpression) -> bool:
    return (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)
            and node.func.value == "super" and not node.args)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


class AttributeRule(Rule):
    """Dunder, denied and private attributes; writes to modules; module-valued attributes."""

    def __init__(self, findings: Findings, ctx: PolicyContext) -> None:
        super().__init__(findings, ctx)
        self.policy = ctx.policy
        self.protected = protected_names(ctx)
        #: names that hold objects shared with the rest of the process
        self.shared = (ctx.policy.allowed_builtins | frozenset(ctx.tools.names)
                       | frozenset(ctx.tools.type_names) | frozenset(ENGINE_NAMES))
        #: attribute chains whose base is a plain name, resolved against module aliases later
        self.chains: list[cst.Attribute] = []
        #: attribute nodes that are written (assigned, augmented, deleted); a statement's
        #: targets are seen before the attribute nodes in them
        self.written: list[cst.Attribute] = []
        self.written_ids: set[int] = set()
        self.classes_allowed = "class" not in ctx.policy.forbidden_syntax
        #: private attributes read through a plain name: maybe a method's own ``self._x``,
        #: which ``engine.policy.receivers`` decides
        self.receiver_reads: list[cst.Attribute] = []

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self.classes_allowed and isinstance(node.value, cst.Name) \
                and self._private(node.attr.value) and is_receiver_private(node.attr.value):
            self.receiver_reads.append(node)
        elif not (self.classes_allowed and node.attr.value in CLASS_DUNDERS
                  and _is_super_call(node.value)):  # super().__init__(...)
            self._read(node.attr, written=id(node) in self.written_ids)
        if isinstance(node.value, (cst.Name, cst.Attribute)):
            self.chains.append(node)

    def visit_MatchKeywordElement(self, node: cst.MatchKeywordElement) -> None:
        # `case str(format=f)` reads `.format` with no attribute node in sight.
        self._read(node.key)

    def _read(self, attr: cst.Name, written: bool = False) -> None:
        name = attr.value
        node = attr
        attributes = self.policy.attributes
        if is_dunder(name):
            if name in attributes.read_dunder and not written:
                return
            if name in attributes.read_dunder and name not in attributes.allow_dunder:
                self.findings.add(node, "P120", f"attribute `{name}` can be read, not changed",
                                  hint="keep the value in a variable of your own")
                return
            if name not in attributes.allow_dunder:
                self.findings.add(
                    node, "P120", f"attribute `{name}` is not allowed",
                    hint="double-underscore attributes reach interpreter internals; use the "
                    "object's public fields and methods",
                )
            return
        if name in self.policy.denied_attributes:
            self.findings.add(node, "P121", f"attribute `{name}` is not allowed",
                              hint=denied_attribute_hint(name))
            return
        if self._private(name):
            self.findings.add(node, "P122", f"attribute `{name}` is private",
                              hint="use the public fields and methods (no leading underscore)")

    def _private(self, name: str) -> bool:
        attributes = self.policy.attributes
        return (name.startswith("_") and not attributes.allow_private
                and name not in attributes.allow_private_names)

    def _written(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Attribute):
            self.written.append(target)
            self.written_ids.add(id(target))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._written(element.value)
        elif isinstance(target, cst.StarredElement):
            self._written(target.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._written(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._written(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._written(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._written(node.target)
        for target in _names_in(node.target):
            if target.value in self.protected:
                self.findings.add(target, "P113", self.protected[target.value])

    def _never_written(self, target: cst.BaseExpression, where: str) -> None:
        for found in _attributes_in(target):
            self.findings.add(found, "P124",
                              f"`{_dotted(found) or found.attr.value}` is the target of {where}; "
                              "only names can be",
                              hint="loop over a name and assign the attribute in the body")

    def visit_For(self, node: cst.For) -> None:
        self._never_written(node.target, "a `for` loop")

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._never_written(node.target, "a comprehension")

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._never_written(node.asname.name, "`with ... as`")

    def finish(self, run: RuleRun) -> None:
        imports = run.rule(ImportRule)
        aliases = {k: v for k, v in run.ctx.session_modules.items()
                   if k not in run.snippet.module_bindings}
        if imports is not None:
            aliases.update({k: v for k, v in imports.aliases.items()
                            if k not in run.non_import})
        self.resolve_modules(aliases, self.findings, run.non_import)

    def resolve_modules(self, aliases: Mapping[str, str], findings: Findings,
                        rebound: frozenset[str] = frozenset()) -> None:
        """Check module-valued attributes and shared-object writes once imports are known.

        ``rebound``: names the snippet binds to values of its own (they no longer hold a
        builtin or a tool).
        """
        for node in self.written:
            base = node.value
            if isinstance(base, cst.Name) and base.value in aliases:
                findings.add(node, "P123",
                             f"`{_dotted(node)}` is an attribute of a module and cannot be changed",
                             hint="store the value in a variable of your own instead")
                continue
            root = _root_name(base)
            if root is None:
                continue
            if root in aliases:
                what = f"the module `{aliases[root]}`"
            elif root in self.shared and root not in rebound:
                what = f"`{root}`, which is shared with the rest of the process"
            else:
                continue
            findings.add(node, "P124",
                         f"`{_dotted(node) or node.attr.value}` belongs to {what} and cannot be "
                         "changed")
        for node in self.chains:
            parts = _dotted(node).split(".")
            if not parts[0] or parts[0] not in aliases:
                continue
            module = aliases[parts[0]]
            for attribute in parts[1:]:
                hidden = modules.hidden_attribute(
                    module, attribute, modules.builtin_classes(self.policy.allowed_builtins))
                if hidden is not None:
                    findings.add(node.attr, "P121", f"`{_dotted(node)}` is not available",
                                 hint=hidden)
                    break
                sub = modules.submodule_of(module, attribute)
                if sub is None:
                    break
                if sub not in self.policy.allowed_modules:
                    findings.add(
                        node.attr, "P102",
                        f"`{_dotted(node)}` is the module `{sub}`, which is not allowed",
                        hint="allowed modules are: " + _allowed_list(self.policy.allowed_modules),
                    )
                    break
                module = sub




class SyntaxRule(Rule):
    """Constructs the policy forbids, by kind."""

    def __init__(self, findings: Findings, ctx: PolicyContext) -> None:
        super().__init__(findings, ctx)
        self.forbid = ctx.policy.forbidden_syntax

    def _flag(self, node: cst.CSTNode, kind: SyntaxKind) -> None:
        if kind in self.forbid:
            self.findings.add(node, "P130", f"{SYNTAX_LABELS[kind]} are not allowed",
                              hint=SYNTAX_HINTS[kind])

    def visit_Global(self, node: cst.Global) -> None:
        self._flag(node, "global")

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self._flag(node, "nonlocal")

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._flag(node, "class")

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "type" and (
                len(node.args) != 1 or node.args[0].keyword is not None or node.args[0].star):
            self.findings.add(node, "P137", "`type()` is called with other than one argument",
                              hint="`type(x)` gives the class of `x`; to make a class, write "
                              "a `class` statement")

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is not None:
            self._flag(node, "async")

    def visit_Await(self, node: cst.Await) -> None:
        self._flag(node, "async")

    def visit_For(self, node: cst.For) -> None:
        if node.asynchronous is not None:
            self._flag(node, "async")

    def visit_With(self, node: cst.With) -> None:
        self._flag(node, "async" if node.asynchronous is not None else "with")

    def visit_CompFor(self, node: cst.CompFor) -> None:
        if node.asynchronous is not None:
            self._flag(node, "async")

    def visit_Yield(self, node: cst.Yield) -> None:
        self._flag(node, "yield")

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            self._flag(node, "star_import")
        self._flag(node, "import")

    def visit_Import(self, node: cst.Import) -> None:
        self._flag(node, "import")

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._flag(node, "lambda")

    def visit_Decorator(self, node: cst.Decorator) -> None:
        self._flag(node, "decorator")

    def visit_Match(self, node: cst.Match) -> None:
        self._flag(node, "match")

    def visit_Del(self, node: cst.Del) -> None:
        self._flag(node, "del")

    def visit_TryStar(self, node: cst.TryStar) -> None:
        self._flag(node, "try_star")

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._flag(node, "walrus")


def _literal_text(node: cst.BaseExpression) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _traversing_fields(template: str) -> Iterator[str]:
    """Replacement fields of a format template that reach attributes or items; a template
    that cannot be parsed yields itself (it cannot be checked, so it is refused)."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        yield template
        return
    for _, field_name, spec, _ in parsed:
        if field_name and ("." in field_name or "[" in field_name):
            yield field_name
        if spec and "{" in spec:
            yield from _traversing_fields(spec)


class FormatRule(Rule):
    """``str.format`` and ``format_map`` must not traverse attributes or items."""

    def __init__(self, findings: Findings, ctx: PolicyContext) -> None:
        super().__init__(findings, ctx)
        self._checked: set[cst.Attribute] = set()

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in FORMAT_METHODS):
            return
        self._checked.add(func)
        template = _literal_text(func.value)
        if template is None:
            self.findings.add(func.attr, "P141",
                              f"`.{func.attr.value}()` is called on a template that is not a "
                              "string literal")
            return
        for name in _traversing_fields(template):
            self.findings.add(func.value, "P140",
                              f"the format field `{{{name}}}` reaches into an attribute or item")

    def visit_MatchKeywordElement(self, node: cst.MatchKeywordElement) -> None:
        if node.key.value in FORMAT_METHODS:
            self.findings.add(node.key, "P141",
                              f"`.{node.key.value}` is read by a class pattern instead of being "
                              "called on a literal")

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in FORMAT_METHODS and node not in self._checked:
            self.findings.add(node.attr, "P141",
                              f"`.{node.attr.value}` is used without calling it on a literal")


class SizeRule(Rule):
    """Bounds on the values constant expressions build (``10**10**10``, ``'a' * 10**9``).

    The tree's node count and depth are bounded earlier, on CPython's cheaper tree
    (``policy.bounds.check_tree_size``).
    """

    def __init__(self, findings: Findings, ctx: PolicyContext) -> None:
        super().__init__(findings, ctx)
        self.limits = ctx.policy.limits
        self._flagged: cst.CSTNode | None = None

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if self._flagged is None:
            sized = literals.estimate(node)
            if sized is not None and sized.nbytes > self.limits.max_literal_bytes:
                self._flagged = node  # its operands would only repeat the finding
                self.findings.add(
                    node, "P152",
                    f"this constant expression builds a value of about {_human(sized.nbytes)}; "
                    f"the limit is {_human(self.limits.max_literal_bytes)}",
                )

    def leave_BinaryOperation(self, original_node: cst.BinaryOperation) -> None:
        if original_node is self._flagged:
            self._flagged = None


def _human(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.0f} {unit}"
        n //= 1000
    return f"{n} TB"


def check_names(snippet: ParsedSnippet, ctx: PolicyContext, findings: Findings) -> set[str]:
    """Reads of names the snippet may not use, and bindings of dunder names.

    Returns the names that some statement binds to something other than an import, which
    therefore cannot be trusted to still hold a module.
    """
    readable = ctx.readable_names
    allow_dunder = set(ctx.policy.attributes.allow_dunder)
    classes_allowed = "class" not in ctx.policy.forbidden_syntax
    non_import: set[str] = set()
    candidates = sorted(readable | set(snippet.module_bindings))
    protected = protected_names(ctx)
    for scope in {s for s in snippet.scopes.values() if s is not None}:
        for assignment in scope.assignments:
            if isinstance(assignment, BuiltinAssignment):
                continue
            if not isinstance(assignment, ImportAssignment):
                non_import.add(assignment.name)
            node = getattr(assignment, "node", None)
            if isinstance(scope, GlobalScope) and assignment.name in protected and node:
                findings.add(node, "P113", protected[assignment.name])
                continue
            if isinstance(scope, ClassScope) and classes_allowed:
                continue  # a class's own special methods: the class rule decides
            if is_dunder(assignment.name) and assignment.name not in allow_dunder and node:
                findings.add(node, "P111", f"the name `{assignment.name}` cannot be bound",
                             hint="double-underscore names are reserved for the interpreter")
        for access in scope.accesses:
            if not isinstance(access.node, (cst.Name, cst.Attribute)):
                continue  # names inside string annotations are never evaluated
            name = _dotted(access.node).split(".")[0]
            if any(not isinstance(r, BuiltinAssignment) for r in access.referents):
                continue  # bound by the snippet itself
            if isinstance(scope, (FunctionScope, ComprehensionScope)) and any(
                not isinstance(a, BuiltinAssignment) for a in scope.assignments[name]
            ):
                # Assigned anywhere in a function or comprehension, a name is local there
                # and can never reach a builtin (LibCST misses some nested comprehensions).
                continue
            if name in readable:
                continue
            if name in ctx.denied_tools:
                permitted = ", ".join(ctx.tools.names) or "none"
                findings.add(access.node, "P160",
                             f"`{name}` is a tool that policy {ctx.policy.name!r} does not "
                             "permit", hint=f"permitted tools are: {permitted}")
                continue
            if is_dunder(name):
                findings.add(access.node, "P111", f"the name `{name}` is not available",
                             hint="double-underscore names reach interpreter internals")
                continue
            findings.add(access.node, "P110", f"`{name}` is not available",
                         hint=unavailable_hint(name, ctx.tools, candidates))
    return non_import


#: ``PolicyContext`` and ``protected_names`` are defined in ``engine.policy.context`` and
#: ``FORMAT_METHODS`` in ``engine.policy.triggers`` (the screen reads them without LibCST);
#: the rules find them here with everything else a rule needs.
__all__ = [
    "FORMAT_METHODS", "AttributeRule", "Findings", "FormatRule", "IdentifierRule", "ImportRule",
    "PolicyContext", "Rule", "RuleRun", "SizeRule", "SyntaxRule", "check_names",
    "protected_names",
]
