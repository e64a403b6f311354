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

The first two are what the start analyses (with everything they import: a second of work),
so they are also what the type cache keeps (``engine.typecheck.storage``): a checker whose
inputs were built before loads mypy's fine-grained cache of them, and its own two files are
added by the first fine-grained update. The last two change at every check, so they live in
scratch space on a tmpfs where there is one.

Every check tells mypy which files changed rather than letting it look: its own search
(stat the sources, look again for every module it could not find) costs more than checking
``x = 1``, and none of it can change while the checker lives. Every write also moves the
file's mtime forward (mypy compares whole seconds and sizes), and mypy's file-system cache is
flushed around each update.
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
import weakref
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import mypy.build
from mypy.dmypy_server import Server
from mypy.fixup import NodeFixer
from mypy.messages import best_matches, pretty_seq
from mypy.modulefinder import BuildSource, SearchPaths, get_search_dirs
from mypy.modules_state import modules_state
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
from mypy.server.update import ensure_trees_loaded
from mypy.types import instance_cache
from mypy.version import __version__ as mypy_version

from engine import codes
from engine.diagnostics import Diagnostic, Severity, Stage, line_of
from engine.policy.special_methods import is_dunder
from engine.snippets import Snippet
from engine.typecheck.context import (
    CONTEXT_MODULE,
    PRELOAD_MODULE,
    PRIVATE_PREFIX,
    SNIPPET_MODULE,
    TOOLS_ALIAS,
    TOOLS_MODULE,
    Binding,
    BindingKind,
    SessionContext,
    mentioned_names,
    module_alias,
)
from engine.typecheck.prebuild import build_elsewhere, cache_options, mypy_options
from engine.typecheck.storage import CacheEntry, cache_root, scratch_dir
from engine.typecheck.typetext import TYPEVAR_NAME, TypeText
from engine.typecheck.writes import shared_writes

log = logging.getLogger(__name__)

#: Beyond this many characters the type of a name an earlier snippet bound is not kept.
MAX_BINDING_TEXT = 2_000

#: mypy keeps process-wide state, so checks of all engines in a process take turns, and each
#: starts by setting that state for its own build: a cache of builtin types (cleared: a type
#: cached by another engine's build belongs to other symbol tables and crashes this one), and
#: what resolves the symbols of a module loaded from the type cache, which are read when
#: first used (it must be this build's: through another engine's, `Counter('ab')` came out
#: as `Counter[Any]`).
_MYPY_LOCK = threading.Lock()

StartedFrom = Literal["cold", "built", "loaded"]
#: The modification time of the stubs a cache entry is built from (any fixed value will do:
#: mypy compares it with its records of the same files).
_SOURCE_MTIME = 1_000_000_000


@dataclass(frozen=True)
class TypeReport:
    diagnostics: tuple[Diagnostic, ...]
    bindings: tuple[Binding, ...]


class TypeChecker:
    """A warm mypy for one tool registry. Thread-safe; checks run one at a time."""

    def __init__(self, stubs: str, preload: Sequence[str] = (), *,
                 cache: Path | bool = True) -> None:
        """``preload``: modules whose types are loaded at start rather than by the first
        snippet that imports them (pandas and numpy take seconds, a check milliseconds).
        ``cache``: where mypy's state is persisted (``engine.typecheck.storage``): True for
        where the environment says (the user's cache directory by default), a directory, or
        False for nowhere."""
        self._dir = Path(tempfile.mkdtemp(prefix="codeact-types-", dir=scratch_dir()))
        # Removed when the checker goes, or at exit if it is still there (on a tmpfs, what is
        # left takes memory).
        self._remove_dir = weakref.finalize(self, shutil.rmtree, self._dir, True)
        self._preload_text = "".join(f"import {m}\n" for m in sorted(set(preload)))
        self._ctx = self._dir / f"{CONTEXT_MODULE}.pyi"
        self._snippet = self._dir / f"{SNIPPET_MODULE}.py"
        self._stubs = stubs
        self._cache_root: Path | None = (
            cache_root() if cache is True else None if cache is False else cache)
        self._entry: CacheEntry | None = None  # held while a server loaded from it lives
        self._lock = _MYPY_LOCK
        self._server: Server | None = None
        self._modules: tuple[dict[str, MypyFile], NodeFixer | None] | None = None
        self._clock = 1_000_000_000  # mtimes we hand out, one second apart
        self._ctx_text: str | None = None
        #: How the last start went: "cold" (without the cache), "built" (made the cache's
        #: entry, then loaded it), "loaded" (an entry another start made). For tests and
        #: benchmarks.
        self.started_from: StartedFrom | None = None

    def _write(self, path: Path, text: str) -> None:
        path.write_text(text, encoding="utf-8")
        self._clock += 1
        os.utime(path, (self._clock, self._clock))

    def _generated(self, directory: Path) -> list[BuildSource]:
        """The sources of a build whose tools and preload stubs are in ``directory``."""
        return [
            BuildSource(str(self._snippet), SNIPPET_MODULE),
            BuildSource(str(self._ctx), CONTEXT_MODULE),
            BuildSource(str(directory / f"{TOOLS_MODULE}.pyi"), TOOLS_MODULE),
            BuildSource(str(directory / f"{PRELOAD_MODULE}.pyi"), PRELOAD_MODULE),
        ]

    def _start(self) -> Server:
        self._release()
        self._ctx_text = SessionContext().stub()
        self._write(self._ctx, self._ctx_text)
        self._write(self._snippet, "\n".join(SessionContext().prelude()) + "\n")
        if self._cache_root is not None:
            server = self._start_from_cache(self._cache_root)
            if server is not None:
                return server
        self._write(self._dir / f"{TOOLS_MODULE}.pyi", self._stubs)
        self._write(self._dir / f"{PRELOAD_MODULE}.pyi", self._preload_text)
        server = Server(mypy_options(), os.devnull)
        result = server.check(self._generated(self._dir), False, False, 80)
        problems = [m for m in str(result.get("out", "")).splitlines() if m.strip()]
        if problems:  # the generated stubs themselves must be clean
            raise RuntimeError("generated stubs do not type-check:\n" + "\n".join(problems))
        self.started_from = "cold"
        return server

    def _cache_inputs(self) -> dict[str, object]:
        """Everything a persisted build depends on: a change to any makes another entry.

        The tools' stubs import only typeshed's modules, which come with mypy. Preloaded
        modules come from the installed packages: installing or removing any changes the
        modification time of the directory they are installed in. (A package edited in
        place is not noticed: clear the cache then.)"""
        installed: dict[str, int | None] = {}
        if self._preload_text:
            for directory in get_search_dirs(sys.executable)[1]:
                try:
                    installed[directory] = os.stat(directory).st_mtime_ns
                except OSError:
                    installed[directory] = None
        options = mypy_options()
        return {
            "mypy": mypy_version,
            "mypy_at": os.path.dirname(mypy.build.__file__),
            "python": sys.version,
            "prefix": sys.prefix,
            "installed": installed,
            "options": options.select_options_affecting_cache(),
            "python_version": options.python_version,
            "stubs": self._stubs,
            "preload": self._preload_text,
        }

    def _start_from_cache(self, root: Path) -> Server | None:
        """A server loaded from the persisted build (made first if there is none); None
        if the cache cannot be used, so that the caller builds without it."""
        entry = None
        try:
            entry = CacheEntry(root, self._cache_inputs())
            built = False

            def build(into: CacheEntry) -> None:
                nonlocal built
                build_elsewhere(into.src, into.mypy, self._stubs, self._preload_text,
                                _SOURCE_MTIME)
                built = True

            if not entry.acquire(build):
                log.info("the type cache at %s cannot be used now; starting without it", root)
                return None
            tools, preload = entry.src / f"{TOOLS_MODULE}.pyi", entry.src / f"{PRELOAD_MODULE}.pyi"
            if (tools.read_text(encoding="utf-8") != self._stubs
                    or preload.read_text(encoding="utf-8") != self._preload_text):
                raise ValueError("the entry's stubs are not the ones it was made for")
            options = cache_options(entry.mypy)
            options.use_fine_grained_cache = True
            server = Server(options, os.devnull)
            result = server.check(self._generated(entry.src), False, False, 80)
            stats = result.get("stats") or {}
            if not stats.get("fresh_metas"):
                # mypy could not use the entry and built from nothing (right, but slowly):
                # it is stale or damaged, so it is made again by the next start.
                raise ValueError("mypy found nothing usable in the entry")
            if str(result.get("out", "")).strip():
                raise ValueError(f"the entry's build reports errors: {result.get('out')}")
            manager = server.fine_grained_manager
            assert manager is not None  # a started server has one
            # mypy loads a cached module's tree when it decides an update needs it, and
            # misses some: a module a snippet imports first, whose own imports are cached
            # but not loaded, sees their names as Any (statistics.mean over decimal's
            # Decimal). So all are loaded now, as a build from nothing has them (pandas':
            # 0.3 s, of the 8 s that build takes).
            ensure_trees_loaded(manager.manager, manager.graph, list(manager.graph))
            # A tree mypy cannot read is skipped without a word, its names then Any.
            unreadable = [m for m, state in manager.graph.items() if state.tree is None]
            if unreadable:
                raise ValueError(f"unreadable trees in the entry: {', '.join(unreadable[:5])}")
        except MemoryError:
            if entry is not None:
                entry.release()
            raise
        except Exception:
            log.warning("the type cache at %s is unusable; starting without it", root,
                        exc_info=True)
            if entry is not None:
                entry.discard()
            return None
        self._entry = entry
        self.started_from = "built" if built else "loaded"
        return server

    def _release(self) -> None:
        if self._entry is not None:
            self._entry.release()
            self._entry = None

    def _reset(self) -> None:
        self._server = None
        self._modules = None
        self._release()

    def _started(self) -> Server:
        """The server, started if need be, with mypy's process-wide state set for it."""
        instance_cache.reset()
        if self._server is None:
            self._server = self._start()
            self._narrow_search(self._server)
            # The server's build made them: they are its own until another build is made.
            self._modules = modules_state.modules, modules_state.node_fixer
        else:
            assert self._modules is not None
            modules_state.modules, modules_state.node_fixer = self._modules
        return self._server

    def _narrow_search(self, server: Server) -> None:
        """Look for modules only where a snippet's imports can come from.

        mypy searches the working directory, ``MYPYPATH``, the interpreter's ``sys.path`` and
        site-packages, and each update forgets what it found: the first `from M import n` of
        every check listed them all again (the working directory could be any size). A
        snippet can import only the standard library and the policy's third-party modules,
        and the generated modules are the build's sources, found without a search. So the
        search is typeshed, and site-packages when the policy allows third-party modules."""
        manager = server.fine_grained_manager
        assert manager is not None  # a started server has one
        build = manager.manager
        paths = build.search_paths
        packages = (tuple(dict.fromkeys(get_search_dirs(sys.executable)[1]))
                    if self._preload_text else ())
        narrowed = SearchPaths((), (), packages, paths.typeshed_path)
        build.search_paths = narrowed
        build.find_module_cache.search_paths = narrowed
        build.find_module_cache.clear()

    def warm(self) -> None:
        """Build the initial state now rather than at the first check (a second without the
        type cache, tens of milliseconds with it)."""
        with self._lock:
            self._started()

    def check(self, snippet: Snippet, context: SessionContext | None = None) -> TypeReport:
        context = context or SessionContext()
        with self._lock:
            try:
                return self._check(snippet, context)
            except MemoryError:
                self._reset()
                raise  # the check worker reports it as too costly and is replaced
            except Exception as exc:  # a mypy crash must not take the engine down
                log.exception("type checker failed")
                entry = self._entry
                self._reset()
                if entry is None:
                    return _failed(snippet, exc)
                # mypy reads from the cache long after the start: a damaged entry can fail
                # a check. The check is made again by a checker started without it.
                entry.discard()
                self._cache_root = None
            try:
                return self._check(snippet, context)
            except MemoryError:
                self._reset()
                raise
            except Exception as exc:
                log.exception("type checker failed")
                self._reset()
                return _failed(snippet, exc)

    def _check(self, snippet: Snippet, context: SessionContext) -> TypeReport:
        server = self._started()
        manager = server.fine_grained_manager
        assert manager is not None  # a started server has one
        changed: list[tuple[str, str]] = []
        ctx_text = context.stub()
        if ctx_text != self._ctx_text:
            self._write(self._ctx, ctx_text)
            self._ctx_text = ctx_text
            changed.append((CONTEXT_MODULE, str(self._ctx)))
        prelude = context.prelude(exclude=snippet.module_declarations,
                                  used=mentioned_names(snippet.source))
        names = [n for n in snippet.module_bindings
                 if not is_dunder(n) and not n.startswith(PRIVATE_PREFIX)]
        source = _without_checker_comments(snippet.source)
        source = source if source.endswith("\n") else source + "\n"
        self._write(self._snippet, "\n".join(prelude) + "\n" + source + "\n".join(names) + "\n")
        changed.append((SNIPPET_MODULE, str(self._snippet)))
        server.fscache.flush()
        messages = manager.update(changed, [])
        server.flush_caches()
        offset = len(prelude)
        last_line = len(source.splitlines())
        diagnostics = _diagnostics(messages, snippet.source, offset, last_line, str(self._snippet),
                                   context.names)
        diagnostics += self._shared_writes(server, snippet.source, offset, last_line)
        bindings = self._bindings(server, names)
        # Exported types are kept per expression node across updates: without this, every
        # check's syntax tree stays reachable (a leak of ~8 KB a check).
        manager.manager.all_types.clear()
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
                source=source, line=line, column=max(1, write.column + 1), end_line=end_line,
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
        self._reset()
        self._remove_dir()


def _failed(snippet: Snippet, exc: Exception) -> TypeReport:
    return TypeReport((codes.diagnostic(
        "T198", f"the type checker failed: {type(exc).__name__}: {exc}",
        source=snippet.source),), ())


_CHECKER_COMMENT = re.compile(r"#\s*(type:\s*ignore|mypy:|pyright:)")


def _without_checker_comments(source: str) -> str:
    """The snippet with comments that would silence or reconfigure mypy blanked out.

    `# type: ignore` and `# mypy: ignore-errors` are the model's to write but not its to use:
    the type stage checks the tool calls whatever the snippet says. Only real comments are
    touched (found by the tokenizer, not in strings), and columns are unchanged.
    """
    if "#" not in source:
        return source
    # The tokenizer's rows are the reader's lines, which end at "\n" only; str.splitlines
    # also ends one at "\x0c" or "\u2028", and a row of the tokenizer then named another
    # line (a form feed earlier in the snippet blanked a tool call instead of the comment).
    lines = io.StringIO(source).readlines()
    try:
        tokens = list(tokenize.generate_tokens(iter(lines).__next__))
    except (tokenize.TokenError, SyntaxError):
        # Unreadable to the tokenizer: blank every such comment-like text, strings too.
        return _CHECKER_COMMENT.sub(lambda m: " " * len(m.group(0)), source)
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
    messages: Sequence[str], source: str, offset: int, last_line: int, snippet_path: str,
    earlier: Collection[str] = (),
) -> list[Diagnostic]:
    """mypy's findings on the snippet's lines, as the snippet's diagnostics. ``earlier``:
    the names earlier snippets bound, all of them (the prelude brought in only some)."""
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
        message = _snippet_lines(TYPEVAR_NAME.sub("", str(item.get("message", ""))), offset)
        message = _GENERATED.sub("", _suggested(message, earlier))
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
            # mypy reports column -1 for some findings (a node it made, not one it parsed).
            line=line, column=max(1, int(item.get("column", 0)) + 1),
            end_line=end_line - offset if isinstance(end_line, int) and end_line > offset else None,
            end_column=end_column + 1 if isinstance(end_column, int) and end_column >= 0
            else None,
            source_line=line_of(lines, line),
            hint=hint or entry.hint,
        ))
    return found


#: What messages would otherwise show of the generated files: their module names and the
#: private names the prelude binds earlier snippets' names to.
_GENERATED = re.compile(rf"\b(?:{CONTEXT_MODULE}|{SNIPPET_MODULE}|{TOOLS_MODULE})\.|"
                        rf"(?<!\w){PRIVATE_PREFIX}(?=\w)")
_NOT_DEFINED = re.compile(r'^Name "([^"]+)" is not defined(?:; did you mean (.*)\?)?$')
_PRIVATE_NAME = re.compile(rf"^(?:{PRIVATE_PREFIX}|_m_)|^{TOOLS_ALIAS}$")


def _suggested(message: str, earlier: Collection[str]) -> str:
    """A "did you mean" from the names in scope as if every earlier name were in it: mypy
    suggests from the scope it saw, which holds only the earlier names the snippet
    mentions, and their private aliases."""
    found = _NOT_DEFINED.match(message)
    if found is None:
        return message
    name, offered = found.group(1), found.group(2) or ""
    candidates = {n for n in re.findall(r'"([^"]+)"', offered) if not _PRIVATE_NAME.match(n)}
    candidates |= {n for n in earlier if not _PRIVATE_NAME.match(n)}
    candidates.discard(name)
    matches = best_matches(name, candidates, n=3)
    text = f'Name "{name}" is not defined'
    return text + f"; did you mean {pretty_seq(matches, 'or')}?" if matches else text


_ON_LINE = re.compile(r"\bon line (\d+)\b")


def _snippet_lines(message: str, offset: int) -> str:
    """``message`` with the generated file's line numbers ("already defined on line 7") as
    the snippet's; a line of the prelude is a tool's or an earlier snippet's name."""
    def renumber(match: re.Match[str]) -> str:
        line = int(match.group(1)) - offset
        return f"on line {line}" if line >= 1 else "before this snippet (a tool or an " \
                                                   "earlier snippet's name)"
    return _ON_LINE.sub(renumber, message)


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
