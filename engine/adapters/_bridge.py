"""What the adapters share: foreign tools as engine tools, data as snippet assignments, one
sandboxed session that is replaced when the tools change, imports a framework asks for as a
widened policy, and plain data as exact Python literal text (``literal_text`` and
``literal_value``), the form in which values cross the sandbox boundary both ways."""

from __future__ import annotations

import importlib.util
import inspect
import json
import keyword
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic_core import to_jsonable_python

from engine.errors import ConfigIssue, PolicyError
from engine.pipeline import Engine, Isolation
from engine.policy.hints import _REASONS as _UNAVAILABLE
from engine.policy.model import Policy
from engine.session import Session
from engine.tools import ToolRegistry

log = logging.getLogger(__name__)


class EngineSlot:
    """An engine for one set of tools and one session of it."""

    def __init__(self, policy: Policy | str, isolation: Isolation, check_types: bool) -> None:
        self.policy = policy if isinstance(policy, Policy) else Policy.load(policy)
        self.isolation: Isolation = isolation
        self.check_types = check_types
        self.session: Session | None = None
        self._engine: Engine | None = None

    def open(self, registry: ToolRegistry) -> Session:
        """A new session for these tools; the previous one, if any, is closed."""
        self.close()
        self._engine = Engine(registry, self.policy, isolation=self.isolation,
                              check_types=self.check_types)
        self.session = self._engine.session()
        return self.session

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()  # closes its sessions too
        self._engine = None
        self.session = None


def typed_function(name: str, doc: str, params: list[inspect.Parameter], returns: Any,
                   call: Callable[..., Any]) -> Callable[..., Any]:
    """A function with a real signature and annotations that forwards to ``call(**named)``."""
    signature = inspect.Signature(params, return_annotation=returns)

    def forward(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return call(**bound.arguments)

    forward.__name__ = forward.__qualname__ = name
    forward.__doc__ = doc
    forward.__signature__ = signature  # type: ignore[attr-defined]
    forward.__annotations__ = {**{p.name: p.annotation for p in params}, "return": returns}
    return forward


def widen_imports(policy: Policy, modules: Iterable[str], *, origin: str) -> Policy:
    """``policy`` with ``modules`` added to ``imports.allow``, or raise ``PolicyError``.

    ``origin`` names where the modules came from (a framework's parameter) in the error. A
    module is refused when it is not one module's name (smolagents' ``"*"`` and ``"pkg.*"``),
    when this Python cannot import it, or when the engine keeps it from snippets (files, the
    operating system, the network, introspection: ``engine.policy.hints``). Those three can
    only be allowed, knowingly, in a policy file; modules the policy already allows are
    accepted whatever they are.
    """
    allowed = policy.allowed_modules
    where = "imports are configured in the policy file's [imports] allow"
    added: list[str] = []
    issues: list[ConfigIssue] = []

    def refuse(name: object, why: str) -> None:
        issues.append(ConfigIssue(policy.source, "imports.allow",
                                  f"{origin} asks for {name!r}, but {why}; {where}"))

    for name in modules:
        if isinstance(name, str) and (name in allowed or name in added):
            continue
        if not isinstance(name, str) or "*" in name:
            refuse(name, "the engine allows modules one by one, never by pattern: list each "
                   "module (submodules too)")
        elif not all(part.isidentifier() for part in name.split(".")):
            refuse(name, "that is not a module name")
        elif not _importable(name):
            refuse(name, "this Python cannot import it: install it, or leave it out")
        elif (reason := _unavailable_reason(name)) is not None:
            refuse(name, f"the engine keeps it from snippets ({reason}); if snippets really "
                   "need it, allow it in the policy file itself")
        else:
            added.append(name)
    if issues:
        raise PolicyError(issues)
    if not added:
        return policy
    data = policy.model_dump()
    data["imports"] = {**data["imports"], "allow": (*policy.imports.allow, *added)}
    # Validated anew, not model_copy(): the copy would keep the cached `allowed_modules`.
    return Policy.model_validate({**data, "source": policy.source}, strict=True)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _unavailable_reason(module: str) -> str | None:
    for name in (module, module.split(".", maxsplit=1)[0]):
        if name in _UNAVAILABLE:
            return _UNAVAILABLE[name][0]
    return None


def as_data(value: Any) -> Any:
    """The value as JSON-like data, or raise ValueError."""
    try:
        data = to_jsonable_python(value)
        json.dumps(data)
    except Exception as exc:
        raise ValueError(f"{type(value).__name__} is not data") from exc
    return data


def is_snippet_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")


def assign(session: Session, variables: Mapping[str, Any]) -> list[str]:
    """Bind variables in a session; return the names that were bound.

    Plain data is bound exactly (``literal_text``); anything else as its JSON-like data, when
    it has one (a model as a dict, a date as its ISO text): the framework's variables are
    one-way here. What is neither is left out, with a warning.
    """
    lines = []
    for name, value in variables.items():
        if not is_snippet_name(name):
            log.warning("variable %r is not a valid snippet name; not sent", name)
            continue
        try:
            lines.append(f"{name} = {literal_text(value)}")
            continue
        except NotLiteralError:
            pass
        try:
            lines.append(f"{name} = {literal_text(as_data(value))}")
        except (ValueError, NotLiteralError):
            log.warning("variable %r (%s) is not data; not sent", name, type(value).__name__)
    if not lines:
        return []
    result = session.run("\n".join(lines))
    if not result.ok:
        raise RuntimeError("could not set variables in the sandbox: "
                           + "; ".join(d.message for d in result.diagnostics))
    return [line.split(" = ", 1)[0] for line in lines]


# --- Plain data as exact Python literal text --------------------------------------------------
#
# JSON cannot carry a dict's int keys, a tuple, a set or a float's infinity, so values that must
# come back as they were (a graph's state) cross as Python literal text instead: the trusted
# side renders it (``literal_text``) for a snippet to bind, and reads what a snippet's
# ``repr()`` produced (``literal_value``) with its own small parser. Never ``eval`` and never
# ``ast.parse`` (whose tree for a megabyte of ``0,`` takes half a gigabyte): the text comes from
# the untrusted side, and a snippet may rebind ``repr``.

#: Containers nested deeper than this are not plain data here (a policy's max_depth is 100).
MAX_LITERAL_DEPTH = 64
#: More keys of one dict or set sharing one hash than this is an attack on the parent's CPU.
MAX_SHARED_HASH = 32

_PLAIN_TYPES = "None, bool, int, float, str, bytes, and lists, tuples, dicts, sets and " \
    "frozensets of them"


class NotLiteralError(ValueError):
    """A value that is not plain data, or text that is not a plain data literal."""


_BRACKETS: dict[type, tuple[str, str]] = {
    list: ("[", "]"), tuple: ("(", ")"), set: ("{", "}"), frozenset: ("frozenset({", "})"),
}


def literal_text(value: Any) -> str:
    """``value`` as Python source that rebuilds it exactly, or raise ``NotLiteralError``.

    Only exact builtin types (no subclasses: a ``Counter`` is not a dict here): None, bool,
    int, float (infinities and NaN too), str, bytes, list, tuple, dict, set and frozenset.
    The text is valid snippet code under the default policy (``float('inf')``, ``set()``).
    """
    parts: list[str] = []
    _render(value, parts, 0, set())
    return "".join(parts)


def _render(value: Any, out: list[str], depth: int, path: set[int]) -> None:
    kind = type(value)
    if value is None or kind is bool or kind is str or kind is bytes:
        out.append(repr(value))
    elif kind is int:
        try:
            out.append(repr(value))
        except ValueError as exc:  # more digits than int() reads back
            raise NotLiteralError(f"the int is too large to write out ({exc})") from None
    elif kind is float:
        if math.isfinite(value):
            out.append(repr(value))
        else:
            out.append("float('nan')" if math.isnan(value)
                       else "float('inf')" if value > 0 else "-float('inf')")
    elif kind in (list, tuple, dict, set, frozenset):
        if depth >= MAX_LITERAL_DEPTH:
            raise NotLiteralError(f"it nests more than {MAX_LITERAL_DEPTH} containers deep")
        if id(value) in path:
            raise NotLiteralError("it contains itself")
        path.add(id(value))
        if kind is dict:
            out.append("{")
            for i, (key, item) in enumerate(value.items()):
                if i:
                    out.append(", ")
                _render(key, out, depth + 1, path)
                out.append(": ")
                _render(item, out, depth + 1, path)
            out.append("}")
        elif kind in (set, frozenset) and not value:
            out.append(f"{kind.__name__}()")
        else:
            opening, closing = _BRACKETS[kind]
            out.append(opening)
            for i, item in enumerate(value):
                if i:
                    out.append(", ")
                _render(item, out, depth + 1, path)
            if kind is tuple and len(value) == 1:
                out.append(",")
            out.append(closing)
        path.discard(id(value))
    else:
        raise NotLiteralError(f"{_kind_name(value)} is not plain data ({_PLAIN_TYPES})")


def _kind_name(value: Any) -> str:
    kind = type(value)
    module = getattr(kind, "__module__", "")
    name = getattr(kind, "__qualname__", "object")
    return f"a {name}" if module in ("builtins", "") else f"a {module}.{name}"


_TOKEN = re.compile(r"""
    \s*(?:
      (?P<str>b?'(?:[^'\\\n]|\\[^\n])*'|b?"(?:[^"\\\n]|\\[^\n])*")
    | (?P<num>\d+(?:\.\d*)?(?:e[+-]?\d+)?)(?![\w.])
    | (?P<name>[A-Za-z_]\w*)
    | (?P<punct>[][(){},:-])
    )""", re.VERBOSE)
_ESCAPE = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[\\'\"nrt])")
_SIMPLE_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t"}
_CONSTANTS: dict[str, Any] = {"None": None, "True": True, "False": False,
                              "inf": math.inf, "nan": math.nan}
_FLOAT_WORDS = {"'inf'": math.inf, "'nan'": math.nan, "'-inf'": -math.inf,
                '"inf"': math.inf, '"nan"': math.nan, '"-inf"': -math.inf}


def literal_value(text: str) -> Any:
    """The value a plain data literal denotes (``literal_text``'s output, or what ``repr``
    prints for plain data), or raise ``NotLiteralError``. Untrusted text is safe here: only
    the grammar of plain data is read, nesting and hash collisions are bounded, and nothing
    is evaluated."""
    reader = _Reader(text)
    value = reader.value(0)
    if reader.peek() is not None:
        raise NotLiteralError(f"unexpected {reader.peek()!r} after the value")
    return value


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self._next: tuple[str, str] | None = None

    def peek(self) -> str | None:
        token = self._peek()
        return None if token is None else token[1]

    def _peek(self) -> tuple[str, str] | None:
        if self._next is None:
            match = _TOKEN.match(self.text, self.pos)
            if match is None or match.lastgroup is None:
                rest = self.text[self.pos:].strip()
                if not rest:
                    return None
                raise NotLiteralError(f"not plain data at {rest[:20]!r}")
            self.pos = match.end()
            self._next = (match.lastgroup, match.group(match.lastgroup))
        return self._next

    def take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise NotLiteralError("the text ends inside a value")
        self._next = None
        return token

    def expect(self, punct: str) -> None:
        kind, text = self.take()
        if kind != "punct" or text != punct:
            raise NotLiteralError(f"expected {punct!r}, found {text!r}")

    def value(self, depth: int) -> Any:
        """The value next in the text; ``depth`` counts the containers around it."""
        kind, text = self.take()
        if kind == "str":
            return _string(text)
        if kind == "num":
            return _number(text)
        if kind == "name":
            if text in _CONSTANTS:  # a new NaN each time: {nan, nan} has two members
                return float("nan") if text == "nan" else _CONSTANTS[text]
            return self.call(text, depth)
        if text == "-":  # repr writes -1, -0.5, -inf; literal_text writes -float('inf')
            kind, text = self.take()
            if kind == "num":
                return -_number(text)
            if kind == "name" and text == "inf":
                return -math.inf
            if kind == "name" and text == "float":
                return -self.call(text, depth)
            raise NotLiteralError("'-' applies only to a number")
        if text not in ("[", "(", "{"):
            raise NotLiteralError(f"unexpected {text!r}")
        _enter(depth)
        if text == "[":
            return self.items("]", depth)
        return self.tuple(depth) if text == "(" else self.braces(depth)

    def call(self, name: str, depth: int) -> Any:
        if name not in ("float", "set", "frozenset"):
            raise NotLiteralError(f"{name!r} is not plain data ({_PLAIN_TYPES})")
        self.expect("(")
        if name == "float":
            kind, text = self.take()
            self.expect(")")
            if kind != "str" or text not in _FLOAT_WORDS:
                raise NotLiteralError("float() takes only 'inf', '-inf' or 'nan' here")
            return float(text[1:-1])
        if self.peek() == ")":
            self.take()
            return set() if name == "set" else frozenset()
        if name == "set":
            raise NotLiteralError("set() takes no argument here; a set is written {...}")
        _enter(depth)
        self.expect("{")
        members = self.braces(depth)
        self.expect(")")
        if type(members) is not set or not members:
            raise NotLiteralError("frozenset() takes a set literal here")
        return frozenset(members)

    def items(self, closing: str, depth: int) -> list[Any]:
        found: list[Any] = []
        while self.peek() != closing:
            if found:
                self.expect(",")
                if self.peek() == closing:
                    break  # a trailing comma
            found.append(self.value(depth + 1))
        self.take()
        return found

    def tuple(self, depth: int) -> tuple[Any, ...]:
        if self.peek() == ")":
            self.take()
            return ()
        first = self.value(depth + 1)
        self.expect(",")  # `(x)` is not a tuple, and repr never writes it
        rest = self.items(")", depth)
        return (first, *rest)

    def braces(self, depth: int) -> Any:
        if self.peek() == "}":
            self.take()
            return {}
        first = self.value(depth + 1)
        if self.peek() != ":":
            members = [first, *self._more("}", depth)]
            _check_hashes(members)
            return set(members)
        self.take()
        pairs = [(first, self.value(depth + 1))]
        while self.peek() != "}":
            self.expect(",")
            key = self.value(depth + 1)
            self.expect(":")
            pairs.append((key, self.value(depth + 1)))
        self.take()
        _check_hashes([k for k, _ in pairs])
        return dict(pairs)

    def _more(self, closing: str, depth: int) -> list[Any]:
        if self.peek() == closing:
            self.take()
            return []
        self.expect(",")
        return self.items(closing, depth)


def _enter(depth: int) -> None:
    """Refuse a container nested as deep as ``_render`` refuses one."""
    if depth >= MAX_LITERAL_DEPTH:
        raise NotLiteralError(f"it nests more than {MAX_LITERAL_DEPTH} containers deep")


def _check_hashes(keys: list[Any]) -> None:
    """Refuse unhashable keys, and keys crafted to share a hash (quadratic to insert)."""
    counts: dict[int, int] = {}
    for key in keys:
        try:
            digest = hash(key)
        except TypeError:
            raise NotLiteralError(f"{_kind_name(key)} cannot be a dict key or set member") \
                from None
        seen = counts[digest] = counts.get(digest, 0) + 1
        if seen > MAX_SHARED_HASH:
            raise NotLiteralError(f"more than {MAX_SHARED_HASH} keys share one hash")


def _string(token: str) -> str | bytes:
    is_bytes = token.startswith("b")
    body = token[2:-1] if is_bytes else token[1:-1]
    if "\\" in body:
        position = 0
        pieces: list[str] = []
        for match in _ESCAPE.finditer(body):
            if "\\" in body[position:match.start()]:
                raise NotLiteralError("an escape in a string is not one repr() writes")
            pieces.append(body[position:match.start()])
            escape = match.group()[1:]
            if escape in _SIMPLE_ESCAPES:
                pieces.append(_SIMPLE_ESCAPES[escape])
            elif is_bytes and escape[0] in "uU":
                raise NotLiteralError("bytes have no \\u escapes")
            else:
                try:
                    pieces.append(chr(int(escape[1:], 16)))
                except ValueError:
                    raise NotLiteralError(f"\\{escape} is not a character") from None
            position = match.end()
        if "\\" in body[position:]:
            raise NotLiteralError("an escape in a string is not one repr() writes")
        pieces.append(body[position:])
        body = "".join(pieces)
    if not is_bytes:
        return body
    try:
        return body.encode("latin-1")
    except UnicodeEncodeError:
        raise NotLiteralError("bytes hold only ASCII and \\x escapes") from None


def _number(token: str) -> int | float:
    try:
        if any(c in token for c in ".e"):
            return float(token)
        return int(token)
    except ValueError as exc:  # more digits than int() reads
        raise NotLiteralError(f"the number cannot be read: {exc}") from None
