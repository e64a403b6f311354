"""Stage 3: type-check a snippet with a warm, in-process mypy against the tool stubs.

mypy's fine-grained incremental machinery (the engine of ``dmypy``) is kept alive for the
engine's lifetime, so a check re-analyses only the snippet: a few milliseconds instead of a
second for a cold run. Four files live in a private temporary directory (never on
``sys.path``, where mypy could treat the snippet as installed code and silence it):

* ``codeact_tools.pyi``: the generated stubs of the tools;
* ``codeact_preload.pyi``: imports of the policy's third-party modules, loaded at start;
* ``codeact_ctx.pyi``: declarations of names earlier snippets of the session bound;
* ``codeact_snippet.py``: a short prelude, the snippet, and an epilogue that names each
  module-level binding so that its type at the end of the snippet can be read back.

mypy notices changes by whole-second mtime and size, so every write also moves the file's
mtime forward, and its file-system cache is flushed around each update.
"""

from __future__ import annotations

import ast
import functools
import io
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mypy import errorcodes
from mypy.dmypy_server import Server
from mypy.modulefinder import BuildSource
from mypy.nodes import (
    Decorator,
    ExpressionStmt,
    FuncDef,
    MypyFile,
    NameExpr,
    TypeInfo,
    TypeVarExpr,
    Var,
)
from mypy.options import Options
from mypy.types import instance_cache

from engine import codes
from engine.diagnostics import Diagnostic, Severity, Stage, line_of
from engine.parsing import Snippet
from engine.policy.special_methods import is_dunder
from engine.typecheck.context import (
    CONTEXT_MODULE,
    PRELOAD_MODULE,
    PRIVATE_PREFIX,
    SNIPPET_MODULE,
    TOOLS_MODULE,
    Binding,
    BindingKind,
    SessionContext,
    module_alias,
)
from engine.typecheck.typetext import TYPEVAR_NAME, TypeText
from engine.typecheck.writes import shared_writes

log = logging.getLogger(__name__)

#: Beyond this many characters the type of a name an earlier snippet bound is not kept.
MAX_BINDING_TEXT = 2_000

#: mypy keeps process-wide state (a cache of builtin types among it), so checks of all
#: engines in a process take turns, and each starts by clearing that cache: a type cached by
#: another engine's build belongs to other symbol tables and crashes this one.
_MYPY_LOCK = threading.Lock()


@dataclass(frozen=True)
class TypeReport:
    diagnostics: tuple[Diagnostic, ...]
    bindings: tuple[Binding, ...]


def _options() -> Options:
    options = Options()
    options.python_version = sys.version_info[:2]
    options.show_column_numbers = True
    options.show_error_end = True
    options.hide_error_codes = False
    options.output = "json"
    options.error_summary = False
    options.check_untyped_defs = True
    # A session is a REPL: rebinding a name to a value of another type is normal.
    options.allow_redefinition = True
    options.ignore_missing_imports = True
    # Installed packages are checked only as far as the snippet needs them, and their own
    # errors are not the snippet's: reported, they would also make every fine-grained update
    # re-check them (pandas-stubs pulls in numpy and jinja2 sources: 47 s per update, not 5 ms).
    options.follow_imports = "silent"
    options.export_types = True
    options.color_output = False
    # A snippet is a script: `seen = {}` or `counts = Counter()` run fine and mypy infers
    # Any for the items. Demanding an annotation would cost a model a turn for nothing.
    options.disabled_error_codes = {errorcodes.VAR_ANNOTATED}
    return options


class TypeChecker:
    """A warm mypy for one tool registry. Thread-safe; checks run one at a time."""

    def __init__(self, stubs: str, preload: Sequence[str] = ()) -> None:
        """``preload``: modules whose types are loaded at start rather than by the first
        snippet that imports them (pandas and numpy take seconds, a check milliseconds)."""
        self._dir = Path(tempfile.mkdtemp(prefix="codeact-types-"))
        self._tools = self._dir / f"{TOOLS_MODULE}.pyi"
        self._preload_text = "".join(f"import {m}\n" for m in sorted(set(preload)))
        self._preload = self._dir / f"{PRELOAD_MODULE}.pyi"
        self._ctx = self._dir / f"{CONTEXT_MODULE}.pyi"
        self._snippet = self._dir / f"{SNIPPET_MODULE}.py"
        self._stubs = stubs
        self._lock = _MYPY_LOCK
        self._server: Server | None = None
        self._clock = 1_000_000_000  # mtimes we hand out, one second apart
        self._ctx_text: str | None = None
        self._sources = [
            BuildSource(str(self._snippet), SNIPPET_MODULE),
            BuildSource(str(self._ctx), CONTEXT_MODULE),
            BuildSource(str(self._tools), TOOLS_MODULE),
            BuildSource(str(self._preload), PRELOAD_MODULE),
        ]

    def _write(self, path: Path, text: str) -> None:
        path.write_text(text, encoding="utf-8")
        self._clock += 1
        os.utime(path, (self._clock, self._clock))

    def _start(self) -> Server:
        self._write(self._tools, self._stubs)
        self._write(self._preload, self._preload_text)
        self._ctx_text = SessionContext().stub()
        self._write(self._ctx, self._ctx_text)
        self._write(self._snippet, "\n".join(SessionContext().prelude()) + "\n")
        server = Server(_options(), os.devnull)
        result = server.check(self._sources, False, False, 80)
        problems = [m for m in str(result.get("out", "")).splitlines() if m.strip()]
        if problems:  # the generated stubs themselves must be clean
            raise RuntimeError("generated stubs do not type-check:\n" + "\n".join(problems))
        return server

    def warm(self) -> None:
        """Build the initial state now rather than at the first check (about a second)."""
        with self._lock:
            if self._server is None:
                self._server = self._start()

    def check(self, snippet: Snippet, context: SessionContext | None = None) -> TypeReport:
        context = context or SessionContext()
        with self._lock:
            try:
                return self._check(snippet, context)
            except MemoryError:
                self._server = None
                raise  # the check worker reports it as too costly and is replaced
            except Exception as exc:  # a mypy crash must not take the engine down
                log.exception("type checker failed")
                self._server = None
                return TypeReport((codes.diagnostic(
                    "T198", f"the type checker failed: {type(exc).__name__}: {exc}",
                    source=snippet.source),), ())

    def _check(self, snippet: Snippet, context: SessionContext) -> TypeReport:
        instance_cache.reset()
        if self._server is None:
            self._server = self._start()
        server = self._server
        updated: list[str] = []
        ctx_text = context.stub()
        if ctx_text != self._ctx_text:
            self._write(self._ctx, ctx_text)
            self._ctx_text = ctx_text
            updated.append(str(self._ctx))
        prelude = context.prelude(exclude=snippet.module_declarations)
        names = [n for n in snippet.module_bindings
                 if not is_dunder(n) and not n.startswith(PRIVATE_PREFIX)]
        source = _without_checker_comments(snippet.source)
        source = source if source.endswith("\n") else source + "\n"
        self._write(self._snippet, "\n".join(prelude) + "\n" + source + "\n".join(names) + "\n")
        updated.append(str(self._snippet))
        server.fscache.flush()
        messages = server.fine_grained_increment(self._sources, remove=[], update=updated)
        server.flush_caches()
        offset = len(prelude)
        last_line = len(source.splitlines())
        diagnostics = _diagnostics(messages, snippet.source, offset, last_line, str(self._snippet))
        diagnostics += self._shared_writes(server, snippet.source, offset, last_line)
        bindings = self._bindings(server, names)
        if server.fine_grained_manager is not None:
            # Exported types are kept per expression node across updates: without this, every
            # check's syntax tree stays reachable (a leak of ~8 KB a check).
            server.fine_grained_manager.manager.all_types.clear()
        return TypeReport(tuple(diagnostics), bindings)

    def _shared_writes(self, server: Server, source: str, offset: int,
                       last_line: int) -> list[Diagnostic]:
        manager = server.fine_grained_manager
        tree = manager.graph[SNIPPET_MODULE].tree if manager is not None else None
        if manager is None or tree is None:
            return []
        found = []
        for write in shared_writes(tree, manager.manager.all_types):
            line = write.line - offset
            if not 1 <= line <= last_line:
                continue
            end_line = write.end_line - offset if write.end_line is not None else None
            found.append(codes.diagnostic(
                "T130", f"`.{write.attribute}` cannot be assigned or deleted here: the object is "
                        f"{write.target}, not an object of the snippet's own",
                source=source, line=line, column=write.column + 1, end_line=end_line,
                end_column=write.end_column + 1 if end_line is not None and
                write.end_column is not None else None))
        return found

    def _bindings(self, server: Server, names: Sequence[str]) -> tuple[Binding, ...]:
        manager = server.fine_grained_manager
        if manager is None or not names:
            return ()
        tree = manager.graph[SNIPPET_MODULE].tree
        if tree is None:
            return ()
        narrowed: dict[str, Any] = {}
        for stmt in tree.defs[-len(names):]:
            if isinstance(stmt, ExpressionStmt) and isinstance(stmt.expr, NameExpr):
                narrowed[stmt.expr.name] = manager.manager.all_types.get(stmt.expr)
        bindings: list[Binding] = []
        for name in names:
            symbol = tree.names.get(name)
            if symbol is None:
                continue
            node = symbol.node
            text = TypeText()
            if isinstance(node, MypyFile):
                bindings.append(Binding(name, "module", node.fullname))
                continue
            if isinstance(node, TypeInfo) and node.module_name == SNIPPET_MODULE:
                # a class the snippet defined
                bindings.append(Binding(name, "class", name, parameters=len(node.type_vars)))
                continue
            if isinstance(node, TypeVarExpr) and node.name == name:
                typevar = text.typevar(name, node.values, node.upper_bound, node.variance)
                if len(typevar) <= MAX_BINDING_TEXT:
                    bindings.append(Binding(name, "typevar", typevar,
                                            tuple(sorted(text.modules))))
                    continue
            source_module = _imported_from(node)
            if source_module is not None and node is not None:  # from typing import Any
                bindings.append(Binding(name, "imported", node.fullname, (source_module,)))
                continue
            if isinstance(node, FuncDef):
                rendered = text.function(name, node)
                kind: BindingKind = "function"
            else:
                declared = (node.type if isinstance(node, Var)
                            else node.var.type if isinstance(node, Decorator) else None)
                rendered = text.render(narrowed.get(name) or declared)
                kind = "value"
            if len(rendered) > MAX_BINDING_TEXT:
                # A type this large would make every later check of the session costly: the
                # name is known, its type is not.
                bindings.append(Binding(name, "value", f"{module_alias('typing')}.Any",
                                        ("typing",)))
                continue
            bindings.append(Binding(name, kind, rendered, tuple(sorted(text.modules))))
        return tuple(bindings)

    def close(self) -> None:
        self._server = None
        shutil.rmtree(self._dir, ignore_errors=True)

    def __del__(self) -> None:
        shutil.rmtree(getattr(self, "_dir", ""), ignore_errors=True)


_CHECKER_COMMENT = re.compile(r"#\s*(type:\s*ignore|mypy:|pyright:)")


def _without_checker_comments(source: str) -> str:
    """The snippet with comments that would silence or reconfigure mypy blanked out.

    `# type: ignore` and `# mypy: ignore-errors` are the model's to write but not its to use:
    the type stage checks the tool calls whatever the snippet says. Only real comments are
    touched (found by the tokenizer, not in strings), and columns are unchanged.
    """
    if "#" not in source:
        return source
    lines = source.splitlines(keepends=True)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source
    for token in tokens:
        if token.type == tokenize.COMMENT and _CHECKER_COMMENT.match(token.string):
            row, column = token.start
            line = lines[row - 1]
            lines[row - 1] = line[:column] + " " * len(token.string) + line[
                column + len(token.string):]
    return "".join(lines)


def _imported_from(node: object) -> str | None:
    """The module a name was imported from, for a name the snippet bound by importing it
    from a module (a class, a function, a special form such as ``typing.Any``)."""
    fullname = getattr(node, "fullname", "")
    if not isinstance(fullname, str) or "." not in fullname:
        return None
    module = fullname.rsplit(".", 1)[0]
    if module.split(".")[0] in (SNIPPET_MODULE, CONTEXT_MODULE, TOOLS_MODULE, "builtins"):
        return None
    return module


def _diagnostics(
    messages: Sequence[str], source: str, offset: int, last_line: int, snippet_path: str
) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    lines = source.splitlines()
    for raw in messages:
        try:
            item = json.loads(raw)
        except json.JSONDecodeError:
            log.warning("unexpected mypy output: %s", raw)
            continue
        if not str(item.get("file", "")).endswith(os.path.basename(snippet_path)):
            log.warning("mypy reported on generated code: %s", raw)
            continue
        line = int(item.get("line", 0)) - offset
        if line < 1 or line > last_line:
            continue  # the prelude and the epilogue are ours
        severity = item.get("severity", "error")
        if severity == "note":
            if found and found[-1].line == line:
                previous = found[-1]
                hint = "; ".join(h for h in (previous.hint, item.get("message")) if h)
                found[-1] = previous.model_copy(update={"hint": hint})
            continue
        rule = item.get("code") or "misc"
        entry = codes.for_rule(Stage.TYPES, rule)
        message = TYPEVAR_NAME.sub("", str(item.get("message", "")))
        softened = severity == "error" and _inferred_too_narrowly(message)
        if softened:
            severity = "warning"
        hint = _SOFTENED_HINT if softened else _optional_hint(message) or item.get("hint")
        anyway = _runs_anyway(message, source) if severity == "error" else None
        if anyway is not None:
            severity, hint = "warning", anyway
        end_line = item.get("end_line")
        end_column = item.get("end_column")
        found.append(Diagnostic(
            stage=Stage.TYPES, code=entry.code, rule=rule,
            severity=Severity.ERROR if severity == "error" else Severity.WARNING,
            message=message,
            line=line, column=int(item.get("column", 0)) + 1,
            end_line=end_line - offset if isinstance(end_line, int) and end_line > offset else None,
            end_column=end_column + 1 if isinstance(end_column, int) else None,
            source_line=line_of(lines, line),
            hint=hint or entry.hint,
        ))
    return found


#: Errors that come from how mypy infers unannotated data, not from the code: an int-valued
#: container that later gets a float, values of several types joined to ``object``, a list of
#: functions of different signatures. Python runs such code; these become warnings (the
#: snippet runs, and a real mistake still fails at run time). Anything else stays an error.
_TOO_NARROW = (
    re.compile(r'expression has type "float", (target|variable) has type "int"'),
    # Into a container inferred from ints; not into a tool's or a function's parameter.
    re.compile(r'^Argument \d+ to "(append|insert|__setitem__|setdefault)" of "(list|dict)" '
               r'has incompatible type "float"; expected "int"'),
    re.compile(r'\("object"( and "[^"]+")?\)$'),
    re.compile(r'\("[^"]+" and "object"\)$'),
    re.compile(r'^Value of type "object" is not indexable'),
    re.compile(r'^"object" has no attribute'),
    re.compile(r'^Cannot call function of unknown type'),
    re.compile(r'^Argument \d+ to "(len|sorted|sum|min|max|int|float|str|round|abs|list|'
               r'tuple|set|dict|enumerate|zip|reversed|append|extend|insert|__setitem__|join)"'
               r'( of "[^"]+")? has incompatible type "object"; expected'),
    re.compile(r'has incompatible item type "object"'),
    # An empty literal's element type is unknown (`[]` as reduce's start, `{}` filled later).
    re.compile(r'\[Never\]'),
    # A list made of Nones to be filled in (`[None] * n`, then `.append(1.5)`).
    re.compile(r'^Argument \d+ to "(append|insert|__setitem__)" of "list" has incompatible '
               r'type "[^"]+"; expected "None"$'),
    re.compile(r'^Cannot infer (type argument|value of type parameter)'),
    # max(counts, key=counts.get): mypy cannot pick an overload of dict.get as a key.
    re.compile(r'^Argument "key" to "(max|min|sorted)" has incompatible type overloaded '
               r'function'),
)

_SOFTENED_HINT = (
    "mypy inferred this from the first values, which is narrower than what the code puts "
    "there; the snippet runs. For a precise check, annotate the container: "
    "`stats: dict[str, float] = {...}`, `config: dict[str, Any] = {...}`.")


def _optional_hint(message: str) -> str | None:
    """What to write for the Optional values models trip on most."""
    if message.startswith('Item "None" of "Match['):
        return ("re.search and re.match return None when nothing matches: "
                "`m = re.search(...)`, then `if m:` before `m.group()`")
    if message.startswith('Item "None" of'):
        return ("the value can be None here: assign it to a name and check "
                "`if value is not None:` first, or give a default (`value or ...`)")
    return None


_ADDED_HINT = (
    "the snippet sets this attribute on an object of its own class; the snippet runs. For a "
    "precise check, set every attribute in `__init__` (`self.name = ...`)")
_NO_ATTRIBUTE = re.compile(r'^"(\w+)" has no attribute "(\w+)"')


@functools.lru_cache(maxsize=8)
def _added_attributes(source: str) -> tuple[frozenset[str], frozenset[str]]:
    """The snippet's class names, and the attribute names it assigns anywhere."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset(), frozenset()
    classes = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    written = {n.attr for n in ast.walk(tree)
               if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store)}
    return frozenset(classes), frozenset(written)


_IGNORED_ANNOTATION_HINT = (
    "Python keeps annotations of names only; on an attribute or an item it is ignored and "
    "the value is assigned. Write the assignment without it: `obj.attr = value`")


def _runs_anyway(message: str, source: str) -> str | None:
    """A hint when the error is about code CPython runs as the snippet means it: a regular
    expression's match used without a None check (it fails, clearly, only when nothing
    matched); an attribute the snippet adds to an object of its own class from outside the
    class; an annotation on an attribute or item target (ignored). None otherwise."""
    if message.startswith('Item "None" of "Match['):
        return _optional_hint(message)
    if message in ("Type cannot be declared in assignment to non-self attribute",
                   "Unexpected type declaration"):
        return _IGNORED_ANNOTATION_HINT
    found = _NO_ATTRIBUTE.match(message)
    if found is None:
        return None  # the snippet is parsed again only for a message about an attribute
    classes, written = _added_attributes(source)
    return _ADDED_HINT if found[1] in classes and found[2] in written else None


def _inferred_too_narrowly(message: str) -> bool:
    return any(pattern.search(message) for pattern in _TOO_NARROW)
