"""What earlier snippets of a session bound, as the type checker sees it.

A session is a sequence of snippets sharing globals. For the checker each earlier binding is a
declaration in a generated stub module (``codeact_ctx.pyi``); the snippet's prelude imports
them under private names and rebinds them, so that a snippet may both use them with their
types and rebind them to values of another type, as one does in a REPL.

This module is pure data and text; it does not import mypy.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import re
import unicodedata
import warnings
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

# No leading underscore: mypy's fine-grained update never loaded a module first imported by
# a source named `_codeact_snippet` (`import statistics` came out as Any, and importing it again
# in a later snippet was a redefinition, T118); from the name `codeact_snippet` it does.
# Measured on mypy 2.4: names sorting before `_j` failed, after it worked.
TOOLS_MODULE = "codeact_tools"
CONTEXT_MODULE = "codeact_ctx"
SNIPPET_MODULE = "codeact_snippet"
#: Imports the policy's third-party modules once, so that their types are loaded at start.
PRELOAD_MODULE = "codeact_preload"
TOOLS_ALIAS = "_t"
PRIVATE_PREFIX = "_cx_"

#: Outside strings and comments, Python separates names only by ASCII whitespace and ASCII
#: punctuation (its operators and delimiters are all ASCII; `_` belongs to names).
_WORD = re.compile(r"[^\s!-/:-@\[-^`{-~]+")

BindingKind = Literal["value", "function", "module", "class", "imported", "typevar"]


#: An earlier snippet's class, as later snippets see it: any attribute, any call, any
#: operator (its real definition is not carried across; the run still checks it). It can
#: be named in annotations and extended.
_ANY_META = PRIVATE_PREFIX + "AnyClassMeta"
_CLASS_META = (
    f"class {_ANY_META}(type):",
    "    def __getattr__(cls, name: str) -> _m_typing.Any: ...",
)
_LENIENT_DUNDERS = (
    "__call__", "__getitem__", "__setitem__", "__delitem__", "__contains__", "__iter__",
    "__next__", "__len__", "__bool__", "__enter__", "__exit__",
    "__add__", "__sub__", "__mul__", "__truediv__", "__floordiv__", "__mod__", "__pow__",
    "__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__neg__", "__abs__",
    "__lt__", "__le__", "__gt__", "__ge__", "__and__", "__or__", "__xor__",
)


def _parameter(index: int) -> str:
    return f"{PRIVATE_PREFIX}T{index}"


def _class_stub(name: str, parameters: int) -> list[str]:
    generic = ""
    if parameters:  # Box[int] stays a valid annotation for a class made Generic[T]
        names = ", ".join(_parameter(i) for i in range(parameters))
        generic = f"_m_typing.Generic[{names}], "
    lines = [f"class {name}({generic}metaclass={_ANY_META}):",
             "    def __init__(self, *args: _m_typing.Any, **kwargs: _m_typing.Any) -> None: ...",
             "    def __getattr__(self, name: str) -> _m_typing.Any: ..."]
    lines.extend(f"    def {method}(self, *args: _m_typing.Any) -> _m_typing.Any: ..."
                 for method in _LENIENT_DUNDERS)
    return lines


def module_alias(module: str) -> str:
    """The private name under which the context stub imports ``module``."""
    return "_m_" + module.replace(".", "__")


@dataclass(frozen=True)
class Binding:
    """A module-level name bound by a snippet.

    ``text`` is a type expression for values, a complete ``def`` stub for functions, the
    module's name for modules and the ``TypeVar(...)`` call for type variables. ``modules``
    are the modules ``text`` refers to. ``parameters``: how many type parameters a class
    takes (``class Box(Generic[T])``).
    """

    name: str
    kind: BindingKind
    text: str
    modules: tuple[str, ...] = ()
    parameters: int = 0


@dataclass(frozen=True)
class SessionContext:
    """The bindings a session has accumulated, later snippets overriding earlier ones."""

    bindings: tuple[Binding, ...] = ()
    _by_name: Mapping[str, Binding] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {b.name: b for b in self.bindings})

    def extended(self, new: Iterable[Binding]) -> SessionContext:
        merged = dict(self._by_name)
        for binding in new:
            merged.pop(binding.name, None)  # re-bound names move to the end
            merged[binding.name] = binding
        return SessionContext(tuple(merged.values()))

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._by_name)

    @property
    def modules(self) -> dict[str, str]:
        """Module bindings: the name in the snippet's namespace -> the module."""
        return {b.name: b.text for b in self.bindings if b.kind == "module"}

    def get(self, name: str) -> Binding | None:
        return self._by_name.get(name)

    def stub(self) -> str:
        """The ``codeact_ctx.pyi`` stub that declares every non-module binding."""
        needed = sorted({m for b in self.bindings if b.kind not in ("module", "imported")
                         for m in b.modules}
                        | ({"typing"} if any(b.kind in ("class", "typevar")
                                             for b in self.bindings) else set()))
        lines = [
            "# Names bound by earlier snippets of this session (generated).",
            f"import {TOOLS_MODULE} as {TOOLS_ALIAS}",
            *(f"import {m} as {module_alias(m)}" for m in needed),
            "",
        ]
        if any(b.kind == "class" for b in self.bindings):
            lines.extend(_CLASS_META)
            most = max(b.parameters for b in self.bindings)
            lines.extend(f'{_parameter(i)} = _m_typing.TypeVar("{_parameter(i)}")'
                         for i in range(most))
        for b in self.bindings:
            name = _stub_name(b)
            if b.kind == "value":
                lines.append(f"{name}: {b.text}")
            elif b.kind == "function":
                lines.append(b.text if name == b.name else re.sub(
                    rf"^def {re.escape(b.name)}\(", f"def {name}(", b.text, count=1,
                    flags=re.MULTILINE))
            elif b.kind == "class":
                lines.extend(_class_stub(name, b.parameters))
            elif b.kind == "typevar":
                lines.append(f"{name} = " + b.text.replace(f'("{b.name}"', f'("{name}"', 1))
        return "\n".join(lines) + "\n"

    def prelude(self, exclude: Iterable[str] = (),
                used: Container[str] | None = None) -> list[str]:
        """Lines placed before a snippet so that it sees the tools and this context.

        ``exclude`` are names the snippet itself declares (``def``, ``class``, ``x: T = ...``):
        mypy would otherwise call them redefinitions. ``used``: if given, only these names
        are brought in (every name the snippet mentions, see ``mentioned_names``): mypy
        analyses each line of the prelude at every check, so a session's fortieth name
        would otherwise cost every later snippet, whether it reads it or not.
        """
        skip = set(exclude)
        if used is not None:
            # `import a.b as c` stays while package `a` is mentioned, by its name or by
            # another module binding of it: that import is what makes `a.b` an attribute of
            # `a` for mypy, as it made it one at run time.
            packages = {b.text.split(".")[0] for b in self.bindings
                        if b.kind == "module" and b.name in used}
            skip |= {b.name for b in self.bindings if b.name not in used
                     and not (b.kind == "module" and (b.text.split(".")[0] in used
                                                      or b.text.split(".")[0] in packages))}
        lines = [f"from {TOOLS_MODULE} import *"]
        for b in self.bindings:
            if b.kind == "module" and b.name not in skip:
                top = b.text.split(".")[0]
                lines.append(f"import {b.text}" if b.name == top == b.text
                             else f"import {b.text} as {b.name}")
        for b in self.bindings:  # imported again, as the snippet imported them
            if b.kind == "imported" and b.name not in skip:
                module, _, attribute = b.text.rpartition(".")
                lines.append(f"from {module} import {attribute}" if attribute == b.name
                             else f"from {module} import {attribute} as {b.name}")
        classes = [b.name if _stub_name(b) == b.name else f"{_stub_name(b)} as {b.name}"
                   for b in self.bindings
                   if b.kind in ("class", "typevar") and b.name not in skip]
        if classes:  # imported as they are: a rebound name would not be a type
            lines.append(f"from {CONTEXT_MODULE} import {', '.join(classes)}")
        declared = [b for b in self.bindings
                    if b.kind in ("value", "function") and b.name not in skip]
        if declared:
            imports = ", ".join(_stub_name(b) if _stub_name(b) == PRIVATE_PREFIX + b.name
                                else f"{b.name} as {PRIVATE_PREFIX}{b.name}" for b in declared)
            lines.append(f"from {CONTEXT_MODULE} import {imports}")
            lines.append("; ".join(f"{b.name} = {PRIVATE_PREFIX}{b.name}" for b in declared))
        return lines


#: Names of the builtins; a binding that takes one is declared in the stub under its private
#: name, so that the stub's own types (`str`, `list[int]`) stay the builtins.
_BUILTIN_NAMES = frozenset(dir(builtins))


def _stub_name(binding: Binding) -> str:
    """The name ``binding`` is declared under in ``codeact_ctx.pyi``: values always go
    under their private names (`list = [1]` as `list: list[int]` would make every `list` of
    the stub that variable), the rest only when they take a builtin's name."""
    if binding.kind == "value" or binding.name in _BUILTIN_NAMES:
        return PRIVATE_PREFIX + binding.name
    return binding.name


def mentioned_names(source: str) -> frozenset[str] | None:
    """Every name ``source`` could refer to, or None when only the whole context will do.

    The words are each run of characters between ASCII separators, as Python reads them
    (NFKC-normalised: a fullwidth `x` is `x`), and the same in the values of its strings,
    which mypy reads as types wherever a type may be a string: escapes decoded and adjacent
    strings joined (`"\\x42ox"`, `"Bo" "x"` are `Box`). More than the names it uses
    (keywords, numbers, words in comments), never fewer. None for what brings in names no
    word shows: a star import, a `# type:` comment (its strings are not the module's), a
    source with escapes or joined strings that Python cannot parse (the type stage never
    sees one: the parse stage refuses it)."""
    if _TYPE_COMMENT.search(source) or _STAR_IMPORT.search(source):
        return None
    if not source.isascii() and any(unicodedata.category(c) == "Cn" for c in source):
        # A character newer than this Python's Unicode tables: mypy's own parser may
        # normalise it (U+A7F1 is `S` there), unicodedata cannot.
        return None
    words = set(_words(source))
    if "\\" not in source and not _ADJACENT_STRINGS.search(source):
        # No escape and no strings joined: a string's words, and those of a string in it,
        # are words of the source already (the usual case; parsing and walking it again
        # would cost a tenth of a warm check).
        return frozenset(words)
    try:
        trees: list[ast.AST] = [_parse(source, "exec")]
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    # A string that holds a string (`"list['\\x42ox']"`) is read again, as mypy reads it;
    # what mypy cannot parse names nothing.
    for _ in range(_STRING_DEPTH):
        inner: list[ast.AST] = []
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    words.update(_words(node.value))
                    if any(quote in node.value for quote in "'\""):
                        with contextlib.suppress(SyntaxError, ValueError, MemoryError,
                                                 RecursionError):
                            inner.append(_parse(f"({node.value})", "eval"))
        if not inner:
            return frozenset(words)
        trees = inner
    return None  # strings nested deeper than anyone writes a type


def _parse(source: str, mode: str) -> ast.AST:
    """``source`` parsed as mypy parses modules and strings read as types."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # `'\\.'` in a string is not ours
        return ast.parse(source, mode=mode, type_comments=True)


def _words(text: str) -> Iterator[str]:
    for word in _WORD.findall(text):
        yield word if word.isascii() else unicodedata.normalize("NFKC", word)


_TYPE_COMMENT = re.compile(r"#\s*type\s*:")
#: `from m import *`, however spaced or continued (no parentheses are allowed there).
_STAR_IMPORT = re.compile(r"\bimport[\s\\]*\*")
#: A quote, then only blanks and comments before a quote: maybe two strings Python joins
#: (or an empty or triple-quoted string: these only cost the slower path).
_ADJACENT_STRINGS = re.compile(r"['\"]\s*(?:#[^\n]*\s*)*[rRbBuUfF]{0,2}['\"]")
_STRING_DEPTH = 4
