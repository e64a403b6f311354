"""Private attributes through a method's own receiver: ``self._count`` in the class's methods.

Python code keeps an object's state in ``self._name``, so a class's own methods may use it.
Anywhere else a private attribute stays refused (P122): on a module, a tool's result or any
other shared object it is an internal that other code relies on. The allowance holds only
where the receiver cannot be anything but an object of a snippet's class:

* the receiver is the first parameter of a method written directly in a class body, which is
  undecorated or decorated with the builtin ``property`` or ``classmethod`` (or is the
  ``@name.setter``/``getter``/``deleter`` of such a property), and the name is bound nowhere
  else in the method (no assignment, nested parameter, ``global``, match capture...);
* the method is not used inside its class body (P136), where it is still a plain function
  that takes any object: a call there, or a decorator, could hand it a module as ``self``;
* once the class exists, the sandbox replaces each such method by one that refuses a
  receiver which is not an object of a snippet's class, so ``Class.method(shared_object)``
  fails in the sandbox (``engine.sandbox.receivers``).

Decided on CPython's own tree, which says for every name whether it is read or bound,
including the bindings LibCST's scopes do not see (match captures, ``:=`` in a
comprehension). Sunder names (``_value_``, ``_missing_``) are enum machinery and stay refused.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodePosition, CodeRange

from engine.codes import CodeName
from engine.policy.rules import AttributeRule, Findings, PolicyContext, Rule, RuleRun
from engine.policy.special_methods import is_receiver_private

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_ACCESSORS = frozenset({"setter", "getter", "deleter"})
#: Identifier fields that name something without binding it.
_NOT_BINDING = frozenset({("Attribute", "attr"), ("keyword", "arg"), ("ImportFrom", "module"),
                          ("MatchClass", "kwd_attrs"), ("Constant", "value"),
                          ("Constant", "kind")})


@dataclass(frozen=True)
class Refusal:
    where: CodeRange
    code: CodeName
    message: str
    hint: str


@dataclass(frozen=True)
class ReceiverReport:
    """Private reads the methods' receivers may make (by where they start), why the others
    may not, and the misuses of methods that make them."""

    #: where each read starts: line (1-based) and character column (0-based), as LibCST's
    allowed: frozenset[tuple[int, int]]
    reasons: dict[tuple[int, int], str]
    refusals: tuple[Refusal, ...]


def _binds(node: ast.AST, name: str) -> bool:
    """Whether ``node`` itself binds ``name`` (refuse by default: every identifier field
    binds unless it is known not to)."""
    kind = type(node).__name__
    if isinstance(node, ast.Name):
        return node.id == name and not isinstance(node.ctx, ast.Load)
    if isinstance(node, ast.alias):
        if node.asname is not None:
            return node.asname == name
        return node.name.split(".")[0] == name
    for field, value in ast.iter_fields(node):
        if (kind, field) in _NOT_BINDING:
            continue
        if value == name or (isinstance(value, list) and name in value):
            return True
    return False


def _bound_in(nodes: list[ast.stmt], name: str) -> bool:
    return any(_binds(inner, name) for node in nodes for inner in ast.walk(node))


def _bound_names(tree: ast.AST) -> frozenset[str]:
    """Every name bound anywhere: a snippet that binds ``property`` decorates with its own."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            found.add(node.id)
        elif isinstance(node, ast.alias):
            found.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            found.update(node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            found.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            found.add(node.rest)
    return frozenset(found)


class _Checker:
    def __init__(self, tree: ast.Module, source: str, ctx: PolicyContext) -> None:
        # Lines as the tokenizer counts them: str.splitlines() also splits at \x0c, \x1c,
        # \u2028..., which may sit in a comment or a string.
        self.lines = re.split(r"\r\n|\r|\n", source)
        self.ctx = ctx
        self.bound = _bound_names(tree)
        self.allowed: set[tuple[int, int]] = set()
        self.reasons: dict[tuple[int, int], str] = {}
        self.refusals: list[Refusal] = []

    def span(self, node: ast.expr | ast.stmt) -> CodeRange:
        """Where ``node`` is, in characters (CPython counts columns in UTF-8 bytes)."""
        def at(line: int, offset: int) -> CodePosition:
            text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
            return CodePosition(line, len(text.encode("utf-8")[:offset].decode("utf-8",
                                                                               "replace")))

        end_line = node.end_lineno or node.lineno
        return CodeRange(at(node.lineno, node.col_offset),
                         at(end_line, node.end_col_offset or node.col_offset))

    def builtin(self, name: str) -> bool:
        """``name`` is the builtin itself: allowed, and bound by no snippet of the session."""
        return (name in self.ctx.policy.allowed_builtins and name not in self.bound
                and name not in self.ctx.session_names)

    def check_class(self, cls: ast.ClassDef) -> None:
        methods = [s for s in cls.body if isinstance(s, _FUNCTIONS)]
        others = [s for s in cls.body if not isinstance(s, _FUNCTIONS)]
        using: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        for method in methods:
            receiver = _receiver(method)
            reads = list(_private_reads(method, receiver)) if receiver else []
            if not reads:
                continue
            why = self.ineligible(method, receiver, methods, others)
            for read in reads:
                start = self.span(read).start
                if why is None:
                    self.allowed.add((start.line, start.column))
                else:
                    self.reasons.setdefault((start.line, start.column), why)
            if why is None:
                using.append(method)
        self.check_uses(cls, {m.name for m in using})

    def ineligible(self, method: ast.FunctionDef | ast.AsyncFunctionDef, receiver: str | None,
                   methods: list[ast.FunctionDef | ast.AsyncFunctionDef],
                   others: list[ast.stmt]) -> str | None:
        """Why ``method``'s receiver might not be the class's own object, or None."""
        if receiver is None:
            return "the method has no first parameter to be its `self`"
        if _bound_in(method.body, receiver):
            return (f"`{receiver}` is assigned or rebound in the method, so it may not be the "
                    "object the method was called on; keep the first parameter as it is")
        if len(method.decorator_list) > 1:
            return "a method with private attributes takes at most one decorator"
        for decorator in method.decorator_list:
            if isinstance(decorator, ast.Name) and decorator.id in ("property", "classmethod"):
                if self.builtin(decorator.id):
                    continue
                return f"`{decorator.id}` here is not the builtin one"
            if isinstance(decorator, ast.Name) and decorator.id == "staticmethod":
                return ("a static method has no `self`; make it an ordinary method or a "
                        "classmethod")
            if not self.accessor(decorator, method.name, methods, others):
                return ("a decorator other than `@property`, `@<name>.setter` or "
                        "`@classmethod` receives the method before its class exists")
        return None

    def accessor(self, decorator: ast.expr, name: str,
                 methods: list[ast.FunctionDef | ast.AsyncFunctionDef],
                 others: list[ast.stmt]) -> bool:
        """``@name.setter`` (or getter/deleter) on a property of this class's body."""
        if not (isinstance(decorator, ast.Attribute) and decorator.attr in _ACCESSORS
                and isinstance(decorator.value, ast.Name) and decorator.value.id == name):
            return False
        if _bound_in(others, name):
            return False
        for method in methods:
            if method.name != name:
                continue
            if len(method.decorator_list) != 1:
                return False
            only = method.decorator_list[0]
            is_property = (isinstance(only, ast.Name) and only.id == "property"
                           and self.builtin("property"))
            is_accessor = (isinstance(only, ast.Attribute) and only.attr in _ACCESSORS
                           and isinstance(only.value, ast.Name) and only.value.id == name)
            if not (is_property or is_accessor):
                return False
        return True

    def check_uses(self, cls: ast.ClassDef, names: set[str]) -> None:
        """A method with private reads is used in its class body only as ``@name.setter``."""
        if not names:
            return
        accessor_bases: set[int] = set()  # the `x` of `@x.setter` on a `def x`
        for node in _class_level(cls):  # a def comes before its decorators
            if isinstance(node, _FUNCTIONS):
                accessor_bases.update(
                    id(d.value) for d in node.decorator_list
                    if isinstance(d, ast.Attribute) and d.attr in _ACCESSORS
                    and isinstance(d.value, ast.Name) and d.value.id == node.name)
            if isinstance(node, ast.Name) and node.id in names \
                    and isinstance(node.ctx, ast.Load) and id(node) not in accessor_bases:
                self.refusals.append(Refusal(
                    self.span(node), "P136",
                    f"`{node.id}` is used in the body of class `{cls.name}`, where it is still "
                    "a plain function that takes any object as `self`",
                    "call the method on an object of the class, after the class statement"))


def _receiver(method: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    positional = [*method.args.posonlyargs, *method.args.args]
    return positional[0].arg if positional else None


def _private_reads(method: ast.FunctionDef | ast.AsyncFunctionDef,
                   receiver: str | None) -> Iterator[ast.Attribute]:
    for statement in method.body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Attribute) and is_receiver_private(node.attr) \
                    and isinstance(node.value, ast.Name) and node.value.id == receiver:
                yield node


def _class_level(cls: ast.ClassDef) -> Iterator[ast.AST]:
    """Nodes evaluated while the class body runs: everything but the bodies of functions and
    lambdas written in it (their decorators, defaults and annotations included)."""
    stack: list[ast.AST] = list(cls.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _FUNCTIONS):
            stack.extend([*node.decorator_list, node.args])
            if node.returns is not None:
                stack.append(node.returns)
        elif isinstance(node, ast.Lambda):
            stack.append(node.args)
        else:
            stack.extend(ast.iter_child_nodes(node))


def check_receivers(source: str, ctx: PolicyContext) -> ReceiverReport:
    """Which private reads through a plain name are a method's reads of its own receiver."""
    tree = ast.parse(source)  # the snippet parsed before: this cannot fail
    checker = _Checker(tree, source, ctx)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            checker.check_class(node)
    return ReceiverReport(frozenset(checker.allowed), checker.reasons, tuple(checker.refusals))


class ReceiverRule(Rule):
    """Private attributes read through a plain name are a method's own ``self._x`` or
    refused: decided after the traversal, on the reads the attribute rule collected."""

    def finish(self, run: RuleRun) -> None:
        attributes = run.rule(AttributeRule)
        if attributes is not None:
            resolve_receiver_reads(attributes.receiver_reads, self.findings, run.ctx)


def resolve_receiver_reads(reads: list[cst.Attribute], findings: Findings,
                           ctx: PolicyContext) -> None:
    """Report the private reads through a plain name (collected by the attribute rule) that
    are not a method's own ``self._x``, and misused methods that make them."""
    if not reads:
        return
    snippet = findings.snippet
    report = check_receivers(snippet.source, ctx)
    positions = snippet.positions
    for node in reads:
        start = positions[node].start
        if (start.line, start.column) in report.allowed:
            continue
        why = report.reasons.get((start.line, start.column))
        findings.add(node.attr, "P122", f"attribute `{node.attr.value}` is private",
                     hint=why or "a private attribute is used only as `self._name` inside "
                     "the methods of the class that owns it; elsewhere use the public fields "
                     "and methods")
    for refusal in report.refusals:
        findings.add_at(refusal.where, refusal.code, refusal.message, refusal.hint)


__all__ = ["ReceiverReport", "ReceiverRule", "Refusal", "check_receivers",
           "resolve_receiver_reads"]
