"""Stage 1's second half: LibCST's tree of a snippet, which the full policy check reads.

CPython parses every snippet first (``engine.snippets``); only a snippet the policy screen
does not clear is parsed again here, so a check worker imports this module (and LibCST, a
tenth of a second) at the first such snippet, not at start. LibCST's own syntax errors are
precise about where but terse about what, so CPython's message is used wherever CPython
refuses a snippet.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Mapping
from concurrent.futures import Future
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

from engine import scope_metadata
from engine.diagnostics import Diagnostic
from engine.snippets import ScreenedSnippet, Snippet, parse_python, syntax_error

# Before any snippet's metadata is resolved: every resolution goes through ParsedSnippet.
scope_metadata.install()


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
            elif isinstance(node, cst.Match):
                stack.extend(case.body for case in node.cases)
        return frozenset(found)


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


def parse_cst(source: str) -> ParsedSnippet | Diagnostic:
    """LibCST's tree of a snippet CPython has accepted."""
    try:
        module = _LIBCST.parse(source)
    except cst.ParserSyntaxError as exc:
        return _libcst_error(source, exc)
    except (RecursionError, MemoryError):
        return syntax_error(source, "the snippet nests too deeply to parse", 1, 1)
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
    return syntax_error(source, message, max(line, 1), max(column, 1))


#: ``parse_python``, ``Snippet`` and ``ScreenedSnippet`` are defined in ``engine.snippets``
#: and also exported here, where the parse stage's callers have always found them.
__all__ = ["ParsedSnippet", "ScreenedSnippet", "Snippet", "parse", "parse_cst", "parse_python"]
