"""What a snippet's own classes may be: ordinary classes, not new machinery.

A class statement runs the snippet's code at times the snippet does not always choose: its
special methods run whenever an operator, ``len``, ``with``, ``print`` or ``==`` meets one of
its objects. The ordinary ones are allowed. Refused are the hooks that run at times nobody
chose or change how attributes and classes themselves work (finalizers, attribute hooks,
descriptors, metaclasses, subclass hooks, pickling), and bases other than the snippet's own
classes, exceptions, enums and typed tuples and dicts: builtins, module classes and the
tools' models carry machinery that other code in the process relies on.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping

import libcst as cst
from libcst.metadata import (
    Assignment,
    BaseAssignment,
    BuiltinAssignment,
    ClassScope,
    ImportAssignment,
    Scope,
)

from engine.policy.model import Policy
from engine.policy.rules import Findings, PolicyContext, Rule, RuleRun, _dotted
from engine.policy.special_methods import CLASS_DUNDERS, is_dunder
from engine.policy.triggers import CLAIM_KEYWORDS, ENUM_FACTORIES

#: Bases from modules, by the module's name and the attribute's.
_MODULE_BASES = frozenset({("enum", name) for name in ENUM_FACTORIES}
                          | {("typing", "NamedTuple"), ("typing", "TypedDict")})
#: Subscripted bases: ``Generic[T]``.
_GENERIC_BASES = frozenset({("typing", "Generic")})
_BASE_NAMES = frozenset(f"{m}.{n}" for m, n in _MODULE_BASES)
_GENERIC_NAMES = frozenset(f"{m}.{n}" for m, n in _GENERIC_BASES)


def _exception_builtins(allowed: frozenset[str]) -> frozenset[str]:
    return frozenset(name for name in allowed
                     if isinstance(getattr(builtins, name, None), type)
                     and issubclass(getattr(builtins, name), BaseException))


def _imported_as(assignment: Assignment) -> tuple[str, str] | None:
    """``(module, name)`` when ``assignment`` is ``from module import name [as x]`` or
    ``import module [as x]`` (then name is "")."""
    if not isinstance(assignment, ImportAssignment):
        return None
    node = assignment.node
    if isinstance(node, cst.ImportFrom) and node.module is not None and not node.relative \
            and not isinstance(node.names, cst.ImportStar):
        module = _dotted(node.module)
        for alias in node.names:
            bound = alias.asname.name if alias.asname is not None else alias.name
            if isinstance(bound, cst.Name) and bound.value == assignment.name \
                    and isinstance(alias.name, cst.Name):
                return module, alias.name.value
    if isinstance(node, cst.Import):
        for alias in node.names:
            bound = alias.asname.name if alias.asname is not None else alias.name
            if _dotted(bound) == assignment.name:
                return _dotted(alias.name), ""
    return None


class ClassRule(Rule):
    """Class statements: no keywords, allowed bases, allowed special methods; ``super()``
    without arguments; enums made by a call name their members in a literal."""

    def __init__(self, findings: Findings, ctx: PolicyContext) -> None:
        super().__init__(findings, ctx)
        self.exceptions = _exception_builtins(ctx.policy.allowed_builtins)
        self.classes: list[cst.ClassDef] = []
        self.enum_calls: list[cst.Call] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node)
        for keyword in node.keywords:
            name = keyword.keyword.value if keyword.keyword is not None else "**"
            self.findings.add(keyword, "P131", f"the class keyword `{name}=` is not allowed")

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "super" and node.args:
            self.findings.add(node, "P134", "`super()` is called with arguments")
        if _dotted(node.func).split(".")[-1] in ENUM_FACTORIES:
            self.enum_calls.append(node)
        tool = isinstance(node.func, cst.Name) and node.func.value in self.ctx.tools.names
        for arg in node.args:
            # Which module a made class claims to be from (namedtuple, enums, TypedDict):
            # functions that write into a class's module would write into that one.
            if not tool and arg.keyword is not None and arg.keyword.value in CLAIM_KEYWORDS:
                self.findings.add(arg, "P135", f"`{arg.keyword.value}=` names where a class "
                                  "comes from; a snippet's classes come from the snippet")

    @classmethod
    def applies(cls, policy: Policy) -> bool:
        return "class" not in policy.forbidden_syntax

    def finish(self, run: RuleRun) -> None:
        self.resolve_bases(run.snippet.scopes, run.snippet.global_scope,
                           run.ctx.session_classes, dict(run.ctx.session_modules))

    def resolve_bases(self, scopes: Mapping[cst.CSTNode, Scope | None], global_scope: object,
                      session_classes: frozenset[str], session_modules: dict[str, str]) -> None:
        """Bases, special methods and enum calls, once the snippet's scopes are known."""
        for scope in {s for s in scopes.values() if isinstance(s, ClassScope)}:
            for assignment in scope.assignments:
                node = getattr(assignment, "node", None)
                if is_dunder(assignment.name) and assignment.name not in CLASS_DUNDERS \
                        and node is not None:
                    self.findings.add(node, "P133",
                                      f"a class cannot define `{assignment.name}`")
        for node in self.classes:
            for base in node.bases:
                where = scopes.get(base.value) or global_scope
                if not self._allowed_base(base.value, where, session_classes,
                                          session_modules):
                    self.findings.add(base.value, "P132",
                                      f"a class cannot extend `{_dotted(base.value) or '...'}`")
        for call in self.enum_calls:
            if not self._is_enum(call.func, global_scope, session_modules):
                continue
            names = [a for a in call.args if a.keyword is not None and a.keyword.value
                     in ("names", "value", "type", "module", "qualname", "boundary", "start")]
            positional = [a for a in call.args if a.keyword is None]
            member_names = positional[1] if len(positional) > 1 else next(
                (a for a in names if a.keyword is not None and a.keyword.value == "names"),
                None)
            literal = member_names is not None and isinstance(
                member_names.value, (cst.SimpleString, cst.ConcatenatedString))
            text = member_names.value.evaluated_value if literal else None  # type: ignore[union-attr]
            extra = [a for a in call.args if a.keyword is not None
                     and a.keyword.value in ("type", "module", "qualname")]
            if member_names is None:
                continue  # Color(1): a lookup of a member, not a new enum
            if not isinstance(text, str) or "__" in text or extra or len(positional) > 2:
                self.findings.add(call, "P135", "the enum's member names must be one string "
                                  "literal without double underscores")

    def _assignments(self, name: str, scope: object) -> list[BaseAssignment]:
        """Every binding of ``name`` visible from ``scope`` (parameters and locals included,
        which shadow module-level names)."""
        if not isinstance(scope, Scope) or name not in scope:
            return []
        return list(scope[name])

    def _module_of(self, name: str, global_scope: object,
                   session_modules: dict[str, str]) -> str | None:
        found = self._assignments(name, global_scope)
        if not found:
            return session_modules.get(name)
        imported = [_imported_as(a) if isinstance(a, Assignment) else None for a in found]
        if all(i is not None and i[1] == "" for i in imported):
            modules = {i[0] for i in imported if i is not None}
            return modules.pop() if len(modules) == 1 else None
        return None

    def _is_enum(self, func: cst.BaseExpression, global_scope: object,
                 session_modules: dict[str, str]) -> bool:
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            return self._module_of(func.value.value, global_scope, session_modules) == "enum"
        if isinstance(func, cst.Name):
            found = self._assignments(func.value, global_scope)
            return bool(found) and all(
                isinstance(a, Assignment) and (i := _imported_as(a)) is not None
                and i[0] == "enum" for a in found)
        return False

    def _allowed_base(self, base: cst.BaseExpression, scope: object,
                      session_classes: frozenset[str], session_modules: dict[str, str],
                      generic: bool = False) -> bool:
        bases = _GENERIC_BASES if generic else _MODULE_BASES
        if isinstance(base, cst.Attribute) and isinstance(base.value, cst.Name):
            module = self._module_of(base.value.value, scope, session_modules)
            return module is not None and (module, base.attr.value) in bases
        if isinstance(base, cst.Subscript):  # Generic[T]
            return self._allowed_base(base.value, scope, session_classes, session_modules,
                                      generic=True)
        if not isinstance(base, cst.Name):
            return False
        found = [a for a in self._assignments(base.value, scope)
                 if not isinstance(a, BuiltinAssignment)]
        if not found:
            if generic:
                return self.ctx.session_imports.get(base.value) in _GENERIC_NAMES
            return (base.value in self.exceptions or base.value == "object"
                    or base.value in session_classes
                    or self.ctx.session_imports.get(base.value) in _BASE_NAMES)
        for assignment in found:
            if not isinstance(assignment, Assignment):
                return False  # a parameter, a comprehension variable...
            imported = _imported_as(assignment)
            if imported is not None:
                if imported not in bases:
                    return False
            elif generic:
                return False
            elif not isinstance(assignment.node, cst.ClassDef):
                return False  # rebound to something else somewhere in the snippet
        return True


__all__ = ["ClassRule"]
