"""Attribute writes in a snippet go through a check: only the snippet's own objects change.

The static stages refuse writes to modules, builtins and the tools' objects (P123, P124) and,
by mypy's inferred type, to anything that is not the snippet's own (T130). Inferred types can
be steered (``typing.cast``, a ``TypeGuard``, an ``Any`` passed as ``self``), and a write to a
shared class or module would change what every later snippet of the session runs
(``json.JSONDecoder.decode = f``). So the child compiles every attribute store
(``a.b = v``, ``a.b += v``, ``del a.b``, ``for a.b in ...``, ``with ... as a.b``) into a call
of a trusted function that changes the attribute only if the object is the snippet's own
(``engine.sandbox.own_classes``) and the name is not a double-underscore one. Evaluation order
is Python's: the value before the object for an assignment; for ``+=`` the object, then the
value. Private names inside a class are mangled as the compiler would have.

Comprehension targets cannot hold a statement; an attribute there stays as written (the policy
refuses it, P124).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

from engine.policy.special_methods import is_dunder
from engine.sandbox.own_classes import INSTANCE_VERDICTS, is_own

SET = "__cx_setattr__"
DELETE = "__cx_delattr__"
UPDATE = "__cx_augattr__"
_TEMP = "__cx_value_"

_IN_PLACE: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.iadd, ast.Sub: operator.isub, ast.Mult: operator.imul,
    ast.MatMult: operator.imatmul, ast.Div: operator.itruediv,
    ast.FloorDiv: operator.ifloordiv, ast.Mod: operator.imod, ast.Pow: operator.ipow,
    ast.LShift: operator.ilshift, ast.RShift: operator.irshift, ast.BitOr: operator.ior,
    ast.BitXor: operator.ixor, ast.BitAnd: operator.iand,
}
_OPERATOR_NAMES = {kind.__name__: function for kind, function in _IN_PLACE.items()}


def _refuse(obj: Any, name: str) -> None:
    if is_dunder(name):
        raise AttributeError(f"attribute '{name}' cannot be changed")
    if not is_own(obj):
        raise AttributeError(
            f"attribute '{name}' of a {type(obj).__name__!r} object cannot be changed: only "
            "objects of the snippet's own classes (and the classes themselves) can be")


def set_attribute(value: Any, obj: Any, name: str) -> None:
    # The common case first, in as few steps as possible: an object of the snippet's class.
    if INSTANCE_VERDICTS.get(type(obj)) is not True or name[:2] == "__":
        _refuse(obj, name)
    setattr(obj, name, value)


def delete_attribute(obj: Any, name: str) -> None:
    _refuse(obj, name)
    delattr(obj, name)


def update_attribute(obj: Any, name: str, kind: str, value: Any) -> None:
    if INSTANCE_VERDICTS.get(type(obj)) is not True or name[:2] == "__":
        _refuse(obj, name)
    setattr(obj, name, _OPERATOR_NAMES[kind](getattr(obj, name), value))


#: The names the rewritten code calls, as the sandbox's builtins hold them.
HELPERS: dict[str, Callable[..., None]] = {
    SET: set_attribute, DELETE: delete_attribute, UPDATE: update_attribute,
}


def _mangled(name: str, owner: str | None) -> str:
    """``__x`` inside ``class Owner`` is ``_Owner__x``, as the compiler writes it."""
    if owner is None or not name.startswith("__") or name.endswith("__"):
        return name
    stripped = owner.lstrip("_")
    return f"_{stripped}{name}" if stripped else name


class _Barrier(ast.NodeTransformer):
    def __init__(self) -> None:
        self.owners: list[str | None] = [None]
        self.temps = 0

    def _call(self, helper: str, args: list[ast.expr], at: ast.AST) -> ast.Expr:
        call = ast.Call(func=ast.Name(helper, ast.Load()), args=args, keywords=[])
        return ast.copy_location(ast.Expr(call), at)

    def _name(self, attribute: ast.Attribute) -> ast.Constant:
        return ast.Constant(_mangled(attribute.attr, self.owners[-1]))

    def _temp(self) -> str:
        self.temps += 1
        return f"{_TEMP}{self.temps}"

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.owners.append(node.name)
        self.generic_visit(node)
        self.owners.pop()
        return node

    def _store(self, target: ast.expr, value: ast.expr, at: ast.AST) -> list[ast.stmt]:
        """Statements that store ``value`` (an expression evaluated once) into ``target``."""
        if isinstance(target, ast.Attribute):
            return [self._call(SET, [value, target.value, self._name(target)], at)]
        if isinstance(target, (ast.Tuple, ast.List)) and _has_attribute(target):
            # unpack into temporaries, then store each element in order
            names: list[ast.expr] = []
            after: list[ast.stmt] = []
            temps: list[str] = []
            for element in target.elts:
                starred = isinstance(element, ast.Starred)
                inner = element.value if isinstance(element, ast.Starred) else element
                temp = self._temp()
                temps.append(temp)
                name: ast.expr = ast.Name(temp, ast.Store())
                names.append(ast.Starred(name, ast.Store()) if starred else name)
                after.extend(self._store(inner, ast.Name(temp, ast.Load()), at))
            unpack = ast.Assign(targets=[type(target)(elts=names, ctx=ast.Store())],
                                value=value)
            cleanup = ast.Delete(targets=[ast.Name(t, ast.Del()) for t in temps])
            return [ast.copy_location(unpack, at), *after, ast.copy_location(cleanup, at)]
        return [ast.copy_location(ast.Assign(targets=[target], value=value), at)]

    def visit_Assign(self, node: ast.Assign) -> ast.AST | list[ast.stmt]:
        self.generic_visit(node)
        if not any(_has_attribute(t) for t in node.targets):
            return node
        if len(node.targets) == 1:
            return self._store(node.targets[0], node.value, node)
        temp = self._temp()  # a = b.c = value: the value once, then each target in order
        out: list[ast.stmt] = [ast.copy_location(
            ast.Assign(targets=[ast.Name(temp, ast.Store())], value=node.value), node)]
        for target in node.targets:
            out.extend(self._store(target, ast.Name(temp, ast.Load()), node))
        out.append(ast.copy_location(ast.Delete(targets=[ast.Name(temp, ast.Del())]), node))
        return out

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST | list[ast.stmt]:
        self.generic_visit(node)
        if isinstance(node.target, ast.Attribute) and node.value is not None:
            return self._store(node.target, node.value, node)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.target, ast.Attribute):
            return node
        kind = ast.Constant(type(node.op).__name__)
        return self._call(UPDATE, [node.target.value, self._name(node.target), kind,
                                   node.value], node)

    def visit_Delete(self, node: ast.Delete) -> ast.AST | list[ast.stmt]:
        self.generic_visit(node)
        if not any(_has_attribute(t) for t in node.targets):
            return node
        out: list[ast.stmt] = []
        for target in _flattened(node.targets):  # del (a.b, c), [d.e]: one by one, in order
            if isinstance(target, ast.Attribute):
                out.append(self._call(DELETE, [target.value, self._name(target)], node))
            else:
                out.append(ast.copy_location(ast.Delete(targets=[target]), node))
        return out

    def _loop_target(self, node: ast.For | ast.AsyncFor) -> None:
        if _has_attribute(node.target):
            temp = self._temp()
            stores = self._store(node.target, ast.Name(temp, ast.Load()), node)
            node.target = ast.Name(temp, ast.Store())
            node.body = [*stores, *node.body]

    def visit_For(self, node: ast.For) -> ast.AST:
        self.generic_visit(node)
        self._loop_target(node)
        return node

    def visit_AsyncFor(self, node: ast.AsyncFor) -> ast.AST:
        self.generic_visit(node)
        self._loop_target(node)
        return node

    def _with_targets(self, node: ast.With | ast.AsyncWith) -> None:
        stores: list[ast.stmt] = []
        for item in node.items:
            if item.optional_vars is not None and _has_attribute(item.optional_vars):
                temp = self._temp()
                stores.extend(self._store(item.optional_vars, ast.Name(temp, ast.Load()),
                                          node))
                item.optional_vars = ast.Name(temp, ast.Store())
        node.body = [*stores, *node.body]

    def visit_With(self, node: ast.With) -> ast.AST:
        self.generic_visit(node)
        self._with_targets(node)
        return node

    def visit_AsyncWith(self, node: ast.AsyncWith) -> ast.AST:
        self.generic_visit(node)
        self._with_targets(node)
        return node


def _has_attribute(target: ast.expr) -> bool:
    if isinstance(target, ast.Attribute):
        return True
    if isinstance(target, (ast.Tuple, ast.List)):
        return any(_has_attribute(e) for e in target.elts)
    if isinstance(target, ast.Starred):
        return _has_attribute(target.value)
    return False


def _flattened(targets: list[ast.expr]) -> list[ast.expr]:
    out: list[ast.expr] = []
    for target in targets:
        if isinstance(target, (ast.Tuple, ast.List)):
            out.extend(_flattened(target.elts))
        else:
            out.append(target)
    return out


def guard_writes(tree: ast.Module) -> ast.Module:
    """``tree`` with every attribute store going through the barrier.

    A store the rewrite does not know how to guard (a comprehension's target, which the
    policy refuses, P124) makes the snippet a syntax error here: nothing compiles to a raw
    attribute store."""
    guarded = _Barrier().visit(tree)
    assert isinstance(guarded, ast.Module)
    for node in ast.walk(guarded):
        if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            error = SyntaxError("an attribute cannot be the target here; assign it in a "
                                "statement of its own")
            error.lineno, error.offset = node.lineno, node.col_offset + 1
            raise error
    return ast.fix_missing_locations(guarded)


__all__ = ["HELPERS", "guard_writes"]
