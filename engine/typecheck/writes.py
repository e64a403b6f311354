"""Attribute writes a snippet may make: only to objects of its own, as the types tell.

A snippet shares the classes and functions of the modules it imports, the tools' models and
the builtins with everything else in its process, including the trusted code that runs it.
Writing an attribute of one of those (``json.JSONDecoder.decode = f``, through an alias, a
parameter, a loop variable...) would change code other than the snippet's. The policy stage
refuses the writes it can see in the syntax; this pass refuses the rest, using the type mypy
inferred for the object written to: it must be an instance of a class the snippet, its
session or the tools define (a tool's result, an object of the snippet's own class).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from mypy.nodes import (
    AssignmentStmt,
    Block,
    ClassDef,
    Decorator,
    DelStmt,
    Expression,
    ForStmt,
    FuncDef,
    IfStmt,
    ListExpr,
    MatchStmt,
    MemberExpr,
    MypyFile,
    OperatorAssignmentStmt,
    StarExpr,
    Statement,
    TryStmt,
    TupleExpr,
    WhileStmt,
    WithStmt,
)
from mypy.types import (
    AnyType,
    FunctionLike,
    Instance,
    ProperType,
    Type,
    TypeType,
    UnionType,
    get_proper_type,
)

from engine.typecheck.context import CONTEXT_MODULE, SNIPPET_MODULE, TOOLS_MODULE

_OWN_MODULES = frozenset({SNIPPET_MODULE, CONTEXT_MODULE, TOOLS_MODULE})


@dataclass(frozen=True)
class SharedWrite:
    """An attribute written on an object that is not the snippet's own."""

    line: int
    column: int  # 0-based, as mypy counts
    end_line: int | None
    end_column: int | None
    target: str  # what is written, as the type checker names its type
    attribute: str


def _targets(node: Expression | None) -> Iterator[MemberExpr]:
    if isinstance(node, MemberExpr):
        yield node
    elif isinstance(node, (TupleExpr, ListExpr)):
        for item in node.items:
            yield from _targets(item)
    elif isinstance(node, StarExpr):
        yield from _targets(node.expr)


#: Modules whose classes are the snippet's (or its session's) own, class objects included.
_OWN_CLASS_MODULES = frozenset({SNIPPET_MODULE, CONTEXT_MODULE})


def _own(typ: ProperType) -> bool:
    if isinstance(typ, UnionType):
        return all(_own(get_proper_type(item)) for item in typ.items)
    if isinstance(typ, Instance):
        # A tool's enum members are shared with the code that validates tool results; the
        # snippet's own enums are its own.
        shared_enum = typ.type.is_enum and typ.type.module_name == TOOLS_MODULE
        return typ.type.module_name in _OWN_MODULES and not shared_enum
    if isinstance(typ, FunctionLike) and typ.is_type_obj():  # the class itself
        return typ.type_object().module_name in _OWN_CLASS_MODULES
    if isinstance(typ, TypeType):
        item = get_proper_type(typ.item)
        return isinstance(item, Instance) and item.type.module_name in _OWN_CLASS_MODULES
    return False


def _describe(typ: ProperType) -> str:
    if isinstance(typ, AnyType):
        return "a value of unknown type"
    if isinstance(typ, FunctionLike):
        return f"the class `{typ.type_object().name}`" if typ.is_type_obj() else "a function"
    if isinstance(typ, TypeType):
        return "a class"
    if isinstance(typ, Instance):
        if typ.type.fullname == "types.ModuleType":
            return "a module"
        return f"a shared `{typ.type.name}`" if typ.type.is_enum else f"a `{typ.type.name}`"
    return f"`{typ}`"


def _blocks(stmt: Statement) -> Iterator[Block]:
    """The blocks nested directly in a statement."""
    if isinstance(stmt, Decorator):
        yield stmt.func.body
    elif isinstance(stmt, (FuncDef, WhileStmt, ForStmt, WithStmt)):
        yield stmt.body
    elif isinstance(stmt, ClassDef):
        yield stmt.defs
    elif isinstance(stmt, IfStmt):
        yield from stmt.body
    elif isinstance(stmt, TryStmt):
        yield stmt.body
        yield from stmt.handlers
    elif isinstance(stmt, MatchStmt):
        yield from stmt.bodies
    if isinstance(stmt, (IfStmt, WhileStmt, ForStmt, TryStmt)) and stmt.else_body:
        yield stmt.else_body
    if isinstance(stmt, TryStmt) and stmt.finally_body:
        yield stmt.finally_body


def _written(stmt: Statement) -> Iterator[Expression]:
    if isinstance(stmt, AssignmentStmt):
        yield from stmt.lvalues
    elif isinstance(stmt, OperatorAssignmentStmt):
        yield stmt.lvalue
    elif isinstance(stmt, DelStmt):
        yield stmt.expr
    elif isinstance(stmt, ForStmt):
        yield stmt.index
    elif isinstance(stmt, WithStmt):
        yield from (t for t in stmt.target if t is not None)


def shared_writes(tree: MypyFile, types: Mapping[Expression, Type]) -> list[SharedWrite]:
    """Attribute writes in ``tree``'s statements whose object is not the snippet's own.

    (Writes inside comprehensions are refused by the policy stage, which sees them in the
    syntax; mypy's visitor classes cannot be subclassed from Python, so this walks
    statements itself.)
    """
    found: list[SharedWrite] = []
    stack: list[Statement] = list(reversed(tree.defs))
    while stack:
        stmt = stack.pop()
        for target in _written(stmt):
            for member in _targets(target):
                known = types.get(member.expr)
                typ = get_proper_type(known) if known is not None else AnyType(0)
                if not _own(typ):
                    found.append(SharedWrite(member.line, member.column, member.end_line,
                                             member.end_column, _describe(typ), member.name))
        for block in _blocks(stmt):
            stack.extend(reversed(block.body))
    return found


__all__ = ["SharedWrite", "shared_writes"]
