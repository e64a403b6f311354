"""Stage 1's first half: CPython's parse of a snippet, and what the later stages read from one.

Every snippet is parsed and compiled by CPython first (``parse_python``): its messages are
the clearest and its limits the cheapest. Most snippets are then cleared by the policy screen
(``engine.policy.screen``) and reach the type stage as a ``ScreenedSnippet``, without LibCST's
tree (``engine.parsing``) ever being built. Nothing here imports LibCST, so that a check
worker that only meets such snippets never pays its import (a tenth of a second at start).
"""

from __future__ import annotations

import ast
import symtable
import warnings
from dataclasses import dataclass
from typing import Protocol

from engine import codes
from engine.diagnostics import Diagnostic

SNIPPET_FILENAME = "<snippet>"


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
        return syntax_error(source, exc.msg, line, max(column, 1), end_line, end_column)
    except (ValueError, RecursionError, MemoryError) as exc:
        return syntax_error(source, str(exc) or type(exc).__name__, 1, 1)
    return tree


def syntax_error(
    source: str, message: str, line: int, column: int,
    end_line: int | None = None, end_column: int | None = None,
) -> Diagnostic:
    """The parse stage's one diagnostic (S001), whichever parser refused the snippet."""
    return codes.diagnostic("S001", f"syntax error: {message}", source=source, line=line,
                            column=column, end_line=end_line, end_column=end_column)


__all__ = ["SNIPPET_FILENAME", "ScreenedSnippet", "Snippet", "parse_python", "syntax_error"]
