"""Stage 1: parse a snippet with LibCST into a tree the later stages share.

LibCST's own syntax errors are precise about where but terse about what, so when it refuses
a snippet CPython's parser is asked for the message a model can act on (``expected ':'``,
``'(' was never closed``). A snippet LibCST accepts is also compiled (never run) so that
errors CPython only finds at compile time (``return`` outside a function) surface here.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field
from functools import cached_property

import libcst as cst
from libcst.metadata import (
    CodeRange,
    GlobalScope,
    MetadataWrapper,
    PositionProvider,
    Scope,
    ScopeProvider,
)

from engine import codes
from engine.diagnostics import Diagnostic, Stage, line_of

SNIPPET_FILENAME = "<snippet>"


@dataclass
class ParsedSnippet:
    """A parsed snippet and the metadata the policy and type stages read from it."""

    source: str
    module: cst.Module
    _wrapper: MetadataWrapper = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # The module is never mutated, so the defensive deep copy would be wasted time.
        self._wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)

    @property
    def wrapper(self) -> MetadataWrapper:
        return self._wrapper

    @cached_property
    def positions(self) -> dict[cst.CSTNode, CodeRange]:
        return dict(self._wrapper.resolve(PositionProvider))

    @cached_property
    def scopes(self) -> dict[cst.CSTNode, Scope | None]:
        return dict(self._wrapper.resolve(ScopeProvider))

    @cached_property
    def global_scope(self) -> GlobalScope | None:
        scope = self.scopes.get(self.module)
        return scope if isinstance(scope, GlobalScope) else None

    @cached_property
    def module_bindings(self) -> tuple[str, ...]:
        """Names the snippet binds at module level, in order of first binding."""
        scope = self.global_scope
        if scope is None:
            return ()
        seen: dict[str, int] = {}
        for assignment in scope.assignments:
            node = getattr(assignment, "node", None)
            if node is None or node not in self.positions:
                continue
            line = self.positions[node].start.line
            name = assignment.name
            seen[name] = min(line, seen.get(name, line))
        return tuple(sorted(seen, key=lambda n: (seen[n], n)))

    @cached_property
    def module_functions(self) -> frozenset[str]:
        """Names bound by ``def`` or ``class`` at module level."""
        scope = self.global_scope
        if scope is None:
            return frozenset()
        return frozenset(
            a.name for a in scope.assignments
            if isinstance(getattr(a, "node", None), (cst.FunctionDef, cst.ClassDef))
        )


def parse(source: str) -> ParsedSnippet | Diagnostic:
    """Parse ``source``; a syntax error becomes one diagnostic with line and column."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        return _cpython_error(source) or _libcst_error(source, exc)
    except (RecursionError, MemoryError):
        return _diagnostic(source, "the snippet nests too deeply to parse", 1, 1)
    compiled = _cpython_error(source, full_compile=True)
    if compiled is not None:
        return compiled
    return ParsedSnippet(source, module)


def _cpython_error(source: str, *, full_compile: bool = False) -> Diagnostic | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for `is` with a literal and such
            if full_compile:
                compile(source, SNIPPET_FILENAME, "exec", dont_inherit=True)
            else:
                ast.parse(source, SNIPPET_FILENAME)
    except SyntaxError as exc:
        line = exc.lineno or 1
        column = exc.offset or 1
        end_line = exc.end_lineno if exc.end_lineno and exc.end_lineno >= line else None
        end_column = exc.end_offset if end_line is not None and exc.end_offset else None
        return _diagnostic(source, exc.msg, line, max(column, 1), end_line, end_column)
    except (ValueError, RecursionError, MemoryError) as exc:
        return _diagnostic(source, str(exc) or type(exc).__name__, 1, 1)
    return None


_LIBCST_POSITION = re.compile(r"error at (\d+):(\d+)")


def _libcst_error(source: str, exc: cst.ParserSyntaxError) -> Diagnostic:
    match = _LIBCST_POSITION.search(exc.message)
    if match:
        line, column = int(match[1]), int(match[2]) + 1
    else:
        line, column = exc.raw_line, exc.raw_column + 1
    message = exc.message.split(": ", 2)[-1] if match else exc.message
    return _diagnostic(source, message, max(line, 1), max(column, 1))


def _diagnostic(
    source: str, message: str, line: int, column: int,
    end_line: int | None = None, end_column: int | None = None,
) -> Diagnostic:
    entry = codes.get("S001")
    return Diagnostic(
        stage=Stage.PARSE, code=entry.code, rule=entry.rule, message=f"syntax error: {message}",
        line=line, column=column, end_line=end_line, end_column=end_column,
        source_line=line_of(source, line), hint=entry.hint,
    )
