"""A cheap first look that clears ordinary snippets before the full policy check.

The full check (``engine.policy.check``) runs LibCST's parser, its scope analysis and every
rule: ~90% of the static stages' cost on a short snippet (issue 14). Most snippets a model
writes use a small part of the language: tool calls, loops, comprehensions, f-strings, plain
functions. This screen looks at CPython's tree and symbol table (together well under a
millisecond) and says one of two things:

* **clear**: the snippet stays inside a subset the screen fully understands, and inside it
  every reason the full check could have to refuse something is absent, so the full check
  would find nothing (``tests/test_policy_screen.py`` holds the screen to that on the attack
  corpus, the policy cases, the task solutions and generated snippets);
* **not clear**: anything else, including everything merely unusual. The full check then
  runs as before and gives the diagnostics.

The screen never refuses and never explains: it only lets the common case skip work. It is
deliberately stricter than the policy (it declines every class, attribute write, private or
dunder name, import below module level, and constant expression near the size limit),
because a screen that is wrong in the permissive direction would be a hole.
"""

from __future__ import annotations

import ast
import symtable
from typing import Final

# What the rules read, never the rules: they import LibCST, which a check worker loads only
# at the first snippet this screen does not clear (tests/test_worker_imports.py).
from engine.policy import modules
from engine.policy.context import PolicyContext, protected_names
from engine.policy.sizes import estimate_ast
from engine.policy.triggers import (
    CLAIM_KEYWORDS,
    ENUM_FACTORIES,
    FORMAT_METHODS,
    STRING_DISPATCH,
    method_call_rule_applies,
    tool_argument_rule_applies,
)
from engine.policy.vocabulary import SyntaxKind

#: Node classes the screen understands; anything else is for the full check.
_PLAIN: Final = frozenset({
    ast.Module, ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.While,
    ast.If, ast.Break, ast.Continue, ast.Pass, ast.Return, ast.FunctionDef, ast.Try,
    ast.ExceptHandler, ast.Raise, ast.Assert,
    ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Dict, ast.Set, ast.List, ast.Tuple,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension,
    ast.Compare, ast.Call, ast.keyword, ast.FormattedValue, ast.JoinedStr, ast.Constant,
    ast.Attribute, ast.Subscript, ast.Slice, ast.Starred, ast.Name, ast.arguments, ast.arg,
    ast.Load, ast.Store, ast.Import, ast.ImportFrom, ast.alias,
    *(c for base in (ast.operator, ast.boolop, ast.cmpop, ast.unaryop)
      for c in base.__subclasses__()),
})

#: Every construct a policy can forbid, and whether the screen ever clears it. Only
#: ``lambda`` is in ``_PLAIN`` (when the policy allows it); the others are never cleared.
#: A new kind in the vocabulary must be added here (a test compares the two).
KNOWN_SYNTAX: Final[frozenset[SyntaxKind]] = frozenset({
    "global", "nonlocal", "class", "async", "yield", "star_import", "lambda", "decorator",
    "with", "match", "del", "try_star", "walrus", "import",
})

class _Screen:
    def __init__(self, ctx: PolicyContext) -> None:
        policy = ctx.policy
        self.plain = _PLAIN | ({ast.Lambda} if "lambda" not in policy.forbidden_syntax
                               else frozenset())
        self.policy = policy
        self.readable = ctx.readable_names
        self.session_modules = ctx.session_modules
        # Calls that make classes or ask for one: left to the full check.
        self.special = frozenset({"type", "super"}) | ENUM_FACTORIES
        self.protected = frozenset(protected_names(ctx))
        self.max_literal_bytes = policy.limits.max_literal_bytes
        self.imports_allowed = "import" not in policy.forbidden_syntax
        self.builtin_classes = modules.builtin_classes(policy.allowed_builtins)
        refused = set(policy.denied_attributes) | set(FORMAT_METHODS) | ENUM_FACTORIES
        if method_call_rule_applies(policy):
            refused |= set(policy.attributes.return_only) | STRING_DISPATCH
        self.refused_attributes = frozenset(refused)
        self.argument_rules = (frozenset(policy.tools.arguments)
                               if tool_argument_rule_applies(policy) else frozenset())

    def imports(self, tree: ast.Module) -> dict[str, str] | None:
        """The names that hold modules (this snippet's imports and earlier snippets'), or
        None when an import is anything but a plain module-level import the full check
        would accept without a word."""
        aliases = dict(self.session_modules)
        imported: set[str] = set()
        for statement in tree.body:
            if isinstance(statement, ast.Import):
                if not self.imports_allowed:
                    return None
                for alias in statement.names:
                    if "." in alias.name or alias.name not in self.policy.allowed_modules:
                        return None
                    bound = alias.asname or alias.name
                    imported.add(bound)
                    aliases[bound] = alias.name
            elif isinstance(statement, ast.ImportFrom):
                if not self.imports_allowed or statement.level or statement.module is None:
                    return None
                module = statement.module
                parts = module.split(".")
                if any(".".join(parts[:i]) not in self.policy.allowed_modules
                       for i in range(1, len(parts) + 1)):
                    return None
                for alias in statement.names:
                    name = alias.name
                    if (name == "*" or name.startswith("_")
                            or name in self.policy.denied_attributes
                            or modules.hidden_attribute(module, name, self.builtin_classes)
                            or modules.submodule_of(module, name) is not None):
                        return None
                    bound = alias.asname or name
                    imported.add(bound)
                    aliases.pop(bound, None)  # no longer a module
        # A name bound both by an import and otherwise may or may not hold the module: the
        # full check decides.
        if (imported | set(self.session_modules)) & _bound_otherwise(tree):
            return None
        if imported & self.protected:
            return None
        return aliases

    def nodes_clear(self, tree: ast.Module, aliases: dict[str, str]) -> bool:
        plain = self.plain
        top = {id(statement) for statement in tree.body}
        for node in ast.walk(tree):
            if type(node) not in plain:
                return False
            if isinstance(node, ast.Attribute):
                if (node.attr.startswith("_") or node.attr in self.refused_attributes
                        or not isinstance(node.ctx, ast.Load)):
                    return False
                base = node.value
                if isinstance(base, ast.Name) and base.id in aliases and (
                        modules.hidden_attribute(aliases[base.id], node.attr,
                                                 self.builtin_classes)
                        or modules.submodule_of(aliases[base.id], node.attr) is not None):
                    return False  # a module reached through a module, or a hidden type
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                if id(node) not in top:
                    return False  # checked by ``imports`` at module level only
            elif isinstance(node, ast.Name):
                if node.id in self.special or (not isinstance(node.ctx, ast.Load)
                                               and node.id in self.protected):
                    return False
            elif isinstance(node, ast.Call):
                if not self._call_clear(node):
                    return False
            elif isinstance(node, ast.BinOp):
                sized = estimate_ast(node)
                # The size rule's own estimate; half its limit leaves room for doubt.
                if sized is not None and sized.nbytes * 2 > self.max_literal_bytes:
                    return False
            elif isinstance(node, ast.FunctionDef):
                if node.decorator_list or node.name in self.protected:
                    return False
            elif isinstance(node, ast.arg):
                if node.arg in self.protected:
                    return False
            elif isinstance(node, ast.ExceptHandler):
                if node.name is not None and node.name in self.protected:
                    return False
            elif isinstance(node, ast.comprehension) and node.is_async:
                return False
        return True

    def _call_clear(self, node: ast.Call) -> bool:
        if any(k.arg is None or k.arg in CLAIM_KEYWORDS for k in node.keywords):
            return False  # **kwargs, or module=/qualname= (classes made by a call)
        func = node.func
        return not (isinstance(func, ast.Name) and func.id in self.argument_rules)

    def names_clear(self, tree: ast.Module, source: str) -> bool:
        """Every name the snippet reads is bound by it or readable; no dunder is bound.

        The full check reads module-level code in order: ``n = n + 1`` reads a name nothing
        has bound yet, even though a statement binds it. The screen follows that order for
        the reads that run at once, and leaves the bodies of functions, lambdas and
        comprehensions (which run later) to the symbol table.
        """
        top = symtable.symtable(source, "<snippet>", "exec")
        bound = frozenset(s.get_name() for s in top.get_symbols()
                          if s.is_assigned() or s.is_imported())
        if _Flow(self.readable).block(tree.body, frozenset()) is None:
            return False
        pending = [top]
        while pending:
            table = pending.pop()
            if table.get_type() not in ("module", "function"):
                return False
            for symbol in table.get_symbols():
                name = symbol.get_name()
                if name.startswith(".") and table is not top:
                    continue  # a comprehension's implicit iterator argument
                if name.startswith("__") and name.endswith("__"):
                    return False
                if table is top or not symbol.is_referenced():
                    continue  # module-level reads: checked in order above
                if symbol.is_local() or symbol.is_free():
                    continue
                if not symbol.is_global() or symbol.is_declared_global():
                    return False
                if name not in bound and name not in self.readable:
                    return False
            pending.extend(table.get_children())
        return True


Defined = frozenset[str]


class _Flow:
    """Module-level statements in the order they run: which names each read can find.

    Returns the names bound after a block, or None when a read finds nothing. It is stricter
    than the full check wherever the two could differ (branches do not see each other's
    bindings; an annotation without a value binds nothing).
    """

    def __init__(self, readable: frozenset[str]) -> None:
        self.readable = readable

    def block(self, body: list[ast.stmt], defined: Defined) -> Defined | None:
        current: Defined | None = defined
        for statement in body:
            if current is None:
                return None
            current = self.statement(statement, current)
        return current

    def statement(self, node: ast.stmt, defined: Defined) -> Defined | None:
        if isinstance(node, ast.Assign):
            # ``a = b[a] = v`` runs, but the full check reads every target before any is bound
            if not self.reads(node.value, defined) or not all(
                    self.bind(target, defined) is not None for target in node.targets):
                return None
            bound: Defined | None = defined
            for target in node.targets:
                bound = None if bound is None else self.bind(target, bound)
            return bound
        if isinstance(node, ast.AugAssign):
            if not (self.reads(node.target, defined, store=True)
                    and self.reads(node.value, defined)):
                return None
            return defined
        if isinstance(node, ast.AnnAssign):
            if not self.reads(node.annotation, defined):
                return None
            if node.value is None:
                return defined
            if not self.reads(node.value, defined):
                return None
            return self.bind(node.target, defined)
        if isinstance(node, (ast.Expr, ast.Return)):
            return defined if node.value is None or self.reads(node.value, defined) else None
        if isinstance(node, ast.Raise):
            parts = [p for p in (node.exc, node.cause) if p is not None]
            return defined if all(self.reads(p, defined) for p in parts) else None
        if isinstance(node, ast.Assert):
            parts = [p for p in (node.test, node.msg) if p is not None]
            return defined if all(self.reads(p, defined) for p in parts) else None
        if isinstance(node, ast.FunctionDef):
            arguments = node.args
            eager: list[ast.expr] = [*arguments.defaults,
                                     *(d for d in arguments.kw_defaults if d is not None)]
            eager += [a.annotation for a in (*arguments.posonlyargs, *arguments.args,
                                              *arguments.kwonlyargs) if a.annotation]
            eager += [a.annotation for a in (arguments.vararg, arguments.kwarg)
                      if a is not None and a.annotation is not None]
            if node.returns is not None:
                eager.append(node.returns)
            if not all(self.reads(e, defined) for e in eager):
                return None
            return defined | {node.name}
        if isinstance(node, ast.If):
            return self.branches(node.test, node.body, node.orelse, defined)
        if isinstance(node, ast.While):
            return self.branches(node.test, node.body, node.orelse, defined)
        if isinstance(node, ast.For):
            if not self.reads(node.iter, defined):
                return None
            inside = self.bind(node.target, defined)
            after = None if inside is None else self.block(node.body, inside)
            tail = None if after is None else self.block(node.orelse, after)
            return tail
        if isinstance(node, ast.Try):
            body = self.block(node.body, defined)
            if body is None:
                return None
            merged = set(body)
            for handler in node.handlers:
                if handler.type is not None and not self.reads(handler.type, defined):
                    return None
                start = defined | {handler.name} if handler.name else defined
                found = self.block(handler.body, start)
                if found is None:
                    return None
                merged |= found - {handler.name}  # Python unbinds it when the handler ends
            orelse = self.block(node.orelse, body)
            final = self.block(node.finalbody, defined)
            if orelse is None or final is None:
                return None
            return frozenset(merged | orelse | final)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return defined | {a.asname or a.name for a in node.names}
        if isinstance(node, (ast.Pass, ast.Break, ast.Continue)):
            return defined
        return None  # nothing else reaches here: the node screen admits no other statement

    def branches(self, test: ast.expr, body: list[ast.stmt], orelse: list[ast.stmt],
                 defined: Defined) -> Defined | None:
        if not self.reads(test, defined):
            return None
        taken = self.block(body, defined)
        other = self.block(orelse, defined)
        if taken is None or other is None:
            return None
        return taken | other

    def bind(self, target: ast.expr, defined: Defined) -> Defined | None:
        """The names after ``target`` is bound. Python binds ``i, x[i] = ...`` left to
        right, but the full check reads ``x[i]`` before ``i`` is bound: so does this."""
        names: set[str] = set()
        pending = [target]
        while pending:
            current = pending.pop()
            if isinstance(current, ast.Name):
                names.add(current.id)
            elif isinstance(current, (ast.Tuple, ast.List)):
                pending += current.elts
            elif isinstance(current, ast.Starred):
                pending.append(current.value)
            elif not self.reads(current, defined, store=True):
                return None
        return defined | names

    def reads(self, node: ast.expr, defined: Defined, store: bool = False) -> bool:
        """The reads in an expression that run at once find a binding or a readable name.

        ``store``: the expression is a target (``d[k]`` in ``d[k] = v``, ``n`` in ``n += 1``),
        whose names are read all the same.
        """
        pending: list[ast.AST] = [node]
        while pending:
            current = pending.pop()
            if isinstance(current, ast.Name):
                if (isinstance(current.ctx, ast.Load) or store) \
                        and current.id not in defined and current.id not in self.readable:
                    return False
            elif isinstance(current, ast.Lambda):
                pending += [*current.args.defaults,
                            *(d for d in current.args.kw_defaults if d is not None)]
            elif isinstance(current, (ast.ListComp, ast.SetComp, ast.GeneratorExp,
                                      ast.DictComp)):
                pending.append(current.generators[0].iter)
            else:
                pending.extend(ast.iter_child_nodes(current))
        return True


def _bound_otherwise(tree: ast.Module) -> set[str]:
    """Names some statement, parameter or handler binds (anything but an import)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            found.add(node.id)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.ExceptHandler)) and node.name:
            found.add(node.name)
    return found


def clears(tree: ast.Module, source: str, ctx: PolicyContext) -> bool:
    """True when the full policy check would certainly find nothing in the snippet.

    ``tree`` is CPython's tree of ``source`` (already parsed and compiled by the parse
    stage). False says only that the full check must decide.
    """
    if not source.isascii():  # NFKC folding of identifiers is the full check's (P112)
        return False
    if not ctx.policy.forbidden_syntax <= KNOWN_SYNTAX:
        return False
    screen = _Screen(ctx)
    aliases = screen.imports(tree)
    return (aliases is not None and screen.nodes_clear(tree, aliases)
            and screen.names_clear(tree, source))


__all__ = ["KNOWN_SYNTAX", "clears"]
