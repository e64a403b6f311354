"""Stage 1: parse a snippet with LibCST into a tree the later stages share.

LibCST's own syntax errors are precise about where but terse about what, so when it refuses
a snippet CPython's parser is asked for the message a model can act on (``expected ':'``,
``'(' was never closed``). A snippet LibCST accepts is also compiled (never run) so that
errors CPython only finds at compile time (``return`` outside a function) surface here.
"""

from __future__ import annotations

import ast
import queue
import re
import symtable
import threading
import warnings
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

import libcst as cst
from libcst.metadata import (
    CodeRange,
    GlobalScope,
    MetadataWrapper,
    PositionProvider,
    Scope,
    ScopeProvider,
)

from engine import codes, scope_metadata
from engine.diagnostics import Diagnostic

scope_metadata.install()

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
    def positions(self) -> Mapping[cst.CSTNode, CodeRange]:
        """Node positions; computed only when something must be located (the costly part)."""
        return self._wrapper.resolve(PositionProvider)

    @cached_property
    def scopes(self) -> Mapping[cst.CSTNode, Scope | None]:
        return self._wrapper.resolve(ScopeProvider)

    @cached_property
    def global_scope(self) -> GlobalScope | None:
        scope = self.scopes.get(self.module)
        return scope if isinstance(scope, GlobalScope) else None

    @cached_property
    def module_bindings(self) -> tuple[str, ...]:
        """Names the snippet binds at module level, sorted."""
        scope = self.global_scope
        if scope is None:
            return ()
        return tuple(sorted({a.name for a in scope.assignments
                             if getattr(a, "node", None) is not None}))

    @cached_property
    def module_declarations(self) -> frozenset[str]:
        """Names declared at module level by ``def``, ``class`` or an annotated assignment.

        A type checker treats a second declaration of a name as an error, so these are the
        names whose earlier declaration (from a previous snippet) must be left out.
        """
        found: set[str] = set()
        stack: list[cst.CSTNode] = list(self.module.body)
        while stack:
            node = stack.pop()
            if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                found.add(node.name.value)
            elif isinstance(node, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
                # ``if c: x: int = 1`` holds its statements in a one-line suite
                found.update(s.target.value for s in node.body
                             if isinstance(s, cst.AnnAssign) and isinstance(s.target, cst.Name))
            elif isinstance(node, (cst.If, cst.Else, cst.For, cst.While, cst.With, cst.Try,
                                   cst.TryStar, cst.ExceptHandler, cst.ExceptStarHandler,
                                   cst.Finally, cst.IndentedBlock)):
                stack.extend(c for c in node.children
                             if isinstance(c, (cst.BaseSuite, cst.BaseStatement, cst.Else,
                                               cst.ExceptHandler, cst.ExceptStarHandler,
                                               cst.Finally)))
        return frozenset(found)


class Snippet(Protocol):
    """What the type stage reads from a snippet, however it was parsed."""

    @property
    def source(self) -> str: ...

    @property
    def module_bindings(self) -> tuple[str, ...]: ...

    @property
    def module_declarations(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class ScreenedSnippet:
    """A snippet the policy screen cleared (``engine.policy.screen``): the names the type
    stage needs, from CPython's tree and symbol table, without LibCST's tree."""

    source: str
    module_bindings: tuple[str, ...]
    module_declarations: frozenset[str]

    @classmethod
    def of(cls, source: str, tree: ast.Module) -> ScreenedSnippet:
        table = symtable.symtable(source, SNIPPET_FILENAME, "exec")
        bindings = sorted(s.get_name() for s in table.get_symbols()
                          if s.is_assigned() or s.is_imported())
        declared: set[str] = set()
        pending: list[ast.stmt] = list(tree.body)
        while pending:  # module level, into compound statements but not into functions
            node = pending.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                declared.add(node.name)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                declared.add(node.target.id)
            elif isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While)):
                pending += [*node.body, *node.orelse]
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                pending += node.body
            elif isinstance(node, (ast.Try, ast.TryStar)):
                pending += [*node.body, *node.orelse, *node.finalbody]
                for handler in node.handlers:
                    pending += handler.body
            elif isinstance(node, ast.Match):
                for case in node.cases:
                    pending += case.body
        return cls(source, tuple(bindings), frozenset(declared))


def parse(source: str) -> ParsedSnippet | Diagnostic:
    """Parse ``source``; a syntax error becomes one diagnostic with line and column.

    CPython compiles the snippet first (never running it): its messages are the clearest,
    it finds compile-time errors LibCST accepts, and its parser refuses pathological nesting
    that would overflow the stack of LibCST's native parser and kill this process.
    """
    screened = parse_python(source)
    if isinstance(screened, Diagnostic):
        return screened
    return parse_cst(source)


def parse_python(source: str) -> ast.Module | Diagnostic:
    """CPython's own parse and compile of ``source`` (nothing is run): the cheap first screen.

    The tree it returns is what the cheap size limits are measured on, before LibCST and its
    metadata (the costly part of the static stages) see the snippet.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for `is` with a literal and such
            tree = ast.parse(source, SNIPPET_FILENAME)
            compile(tree, SNIPPET_FILENAME, "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = exc.lineno or 1
        column = exc.offset or 1
        end_line = exc.end_lineno if exc.end_lineno and exc.end_lineno >= line else None
        end_column = exc.end_offset if end_line is not None and (exc.end_offset or 0) > 0 else None
        if end_column is None:
            end_line = None
        return _diagnostic(source, exc.msg, line, max(column, 1), end_line, end_column)
    except (ValueError, RecursionError, MemoryError) as exc:
        return _diagnostic(source, str(exc) or type(exc).__name__, 1, 1)
    return tree


def parse_cst(source: str) -> ParsedSnippet | Diagnostic:
    """LibCST's tree of a snippet CPython has accepted."""
    try:
        module = _LIBCST.parse(source)
    except cst.ParserSyntaxError as exc:
        return _libcst_error(source, exc)
    except (RecursionError, MemoryError):
        return _diagnostic(source, "the snippet nests too deeply to parse", 1, 1)
    return ParsedSnippet(source, module)


class _BigStackParser:
    """Runs LibCST's native parser on a thread with a large stack.

    Deep nesting recurses in native code, where overflowing the stack is a crash rather
    than an exception; CPython's parser screens out such snippets first, and the large
    stack is the margin if it ever lets one through.
    """

    _STACK_BYTES = 256 * 1024 * 1024

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: queue.SimpleQueue[tuple[str, Future[cst.Module]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def _serve(self) -> None:
        while True:
            source, future = self._requests.get()
            try:
                future.set_result(cst.parse_module(source))
            except BaseException as exc:
                future.set_exception(exc)

    def parse(self, source: str) -> cst.Module:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                previous = threading.stack_size(self._STACK_BYTES)
                try:
                    self._thread = threading.Thread(
                        target=self._serve, name="codeact-parse", daemon=True
                    )
                    self._thread.start()
                finally:
                    threading.stack_size(previous)
        future: Future[cst.Module] = Future()
        self._requests.put((source, future))
        return future.result()


_LIBCST = _BigStackParser()


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
    return codes.diagnostic("S001", f"syntax error: {message}", source=source, line=line,
                            column=column, end_line=end_line, end_column=end_column)

