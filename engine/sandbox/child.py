"""Inside the sandbox: the namespace a snippet runs in, and the loop that runs snippets.

This module runs in the session child, after the kernel restrictions are installed. It must
not import anything once the filter is loaded (opening a module file is refused), so every
import happens at the top, in the zygote.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import inspect
import os
import resource
import sys
import time
import traceback
import types
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from pydantic import BaseModel, TypeAdapter
from pydantic_core import PydanticSerializationError, from_json, to_json, to_jsonable_python

from engine.policy.modules import builtin_classes, hidden_reason
from engine.policy.special_methods import is_dunder
from engine.sandbox.bytes_codec import MARK as _MARK
from engine.sandbox.bytes_codec import tag_bytes, tag_call, untag_bytes
from engine.sandbox.data_guards import harden, resets
from engine.sandbox.factories import VIEW_FACTORIES, guard_enum_factory
from engine.sandbox.own_classes import is_own_class, register, register_data
from engine.sandbox.protocol import FrameReader, Kind, ToolStatus, write_frame
from engine.sandbox.receivers import build_class
from engine.sandbox.spec import SandboxSpec, ToolSpec, build_types, evaluate_type
from engine.sandbox.type_of import make_type_of, reachable_classes
from engine.sandbox.write_barrier import HELPERS as WRITE_HELPERS
from engine.sandbox.write_barrier import guard_writes

SNIPPET_FILENAME = "<snippet>"
#: The names a snippet bound, as reported: the first this many (a star import binds hundreds).
MAX_NAMES = 1_000
_MESSAGE_LIMIT = 2000


class _FinalAnswer(BaseException):
    """Raised by ``final_answer``; a BaseException so that ``except Exception`` lets it pass."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


class _Stop(BaseException):
    """Stops a snippet for a limit (tool calls, payloads, output): not catchable as Exception."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class UnimportableModule(Exception):
    """A module the policy allows cannot be imported where the sandbox runs."""

    def __init__(self, module: str, reason: str) -> None:
        super().__init__(f"{module}: {reason}")
        self.module = module
        self.reason = reason


class ToolError(Exception):
    """A tool raised on the trusted side; the message names the tool."""


class ToolResultInvalid(ToolError):
    """A tool returned a value that does not match its own declared type: the tool's bug."""


class ToolArgumentsError(TypeError):
    """A tool was called with arguments that do not match its signature."""


for _cls in (ToolError, ToolResultInvalid, ToolArgumentsError):
    _cls.__module__ = "tools"


class Output:
    """Captured stdout or stderr: keeps the first ``cap`` bytes (UTF-8), stops a flood."""

    def __init__(self, cap: int, flood: int) -> None:
        self.cap = cap
        self.flood = flood
        self.reset()

    def reset(self) -> None:
        self._parts: list[bytes] = []
        self.kept = 0
        self.total = 0

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        data = text.encode("utf-8", "surrogatepass")
        self.total += len(data)
        if self.kept < self.cap:
            piece = data[: self.cap - self.kept]
            self._parts.append(piece)
            self.kept += len(piece)
        if self.total > self.flood:
            raise _Stop("R204", f"the snippet printed more than {self.flood} bytes")
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False

    @property
    def truncated(self) -> bool:
        return self.total > self.kept

    def getvalue(self) -> str:
        """The kept output, with a visible marker when some was dropped."""
        text = b"".join(self._parts).decode("utf-8", "ignore")
        if self.truncated:
            text += f"\n[... output truncated: {self.total - self.kept} more bytes not shown]\n"
        return text


class ToolChannel:
    """The child's end of the broker: sends tool calls, waits for their results."""

    def __init__(self, in_fd: int, out_fd: int, max_result: int, max_argument: int,
                 max_calls: int) -> None:
        self.reader = FrameReader(in_fd, max_result + 64)
        self.out_fd = out_fd
        self.max_argument = max_argument
        self.max_calls = max_calls
        self.calls = 0
        self.awaiting = False  # a call was sent and its reply not read yet

    def settle(self) -> None:
        """Read the reply to a call the snippet was interrupted in (a RecursionError or a
        MemoryError raised inside this method): the pipe must hold no stale reply."""
        if self.awaiting:
            self.reader.read()
            self.awaiting = False

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
             adapter: TypeAdapter[Any]) -> Any:
        if self.awaiting:
            self.settle()
        if self.calls >= self.max_calls:
            raise _Stop("R205", f"the snippet made more than {self.max_calls} tool calls")
        self.calls += 1
        try:
            sent_args, sent_kwargs = tag_call(args, kwargs)
            payload = to_json({"call": self.calls, "tool": name, "args": sent_args,
                               "kwargs": sent_kwargs})
        except PydanticSerializationError as exc:
            raise ToolArgumentsError(
                f"{name}(): an argument cannot be sent to a tool (only data: numbers, strings, "
                f"lists, dicts, the tools' models): {exc}"
            ) from None
        if len(payload) > self.max_argument:
            raise _Stop("R206", f"the arguments of {name}() are {len(payload)} bytes; the limit "
                                f"is {self.max_argument}")
        self.awaiting = True
        write_frame(self.out_fd, _TOOL_CALL, payload)
        kind, reply = self.reader.read()
        self.awaiting = False
        if kind is not _TOOL_RESULT or not reply:
            os._exit(70)  # the parent broke the protocol: nothing sensible is left to do
        status = reply[0]
        if status == _OK:
            if _MARK in reply:
                return adapter.validate_python(untag_bytes(from_json(reply[1:])))
            # The core validator: TypeAdapter.validate_json only passes its defaults.
            return adapter.validator.validate_json(reply[1:])
        error = from_json(reply[1:])
        if status == ToolStatus.TOOL_ERROR:
            broken = ToolResultInvalid if error["type"] == "ToolResultError" else ToolError
            raise broken(f"{name}() failed: {error['type']}: {error['message']}")
        if status == ToolStatus.BAD_ARGUMENTS:
            raise ToolArgumentsError(error["message"])
        if status == ToolStatus.DIVERGED:
            raise _Stop("R214", error["message"])
        raise _Stop(error.get("code", "R205"), error["message"])


_TOOL_CALL, _TOOL_RESULT, _OK = Kind.TOOL_CALL, Kind.TOOL_RESULT, int(ToolStatus.OK)
_KINDS = {kind.name: kind for kind in inspect._ParameterKind}


def make_proxy(spec: ToolSpec, returns: Any, channel: ToolChannel) -> Callable[..., Any]:
    """A function with the tool's name, docstring and parameter shape that brokers the call."""
    signature = inspect.Signature([
        inspect.Parameter(p.name, _KINDS[p.kind],
                          default=None if p.has_default else inspect.Parameter.empty)
        for p in spec.params
    ])
    adapter: TypeAdapter[Any] = TypeAdapter(returns)
    name = spec.name
    # Arguments by position only bind when their number is in this range: such a call (most
    # are) needs no Signature.bind, which costs more than the rest of the call's way out.
    positional = [p for p in signature.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < len(signature.parameters):  # keyword-only or variadic: always bind
        least, most = 1, 0
    else:
        least = sum(p.default is p.empty for p in positional)
        most = len(positional)

    def proxy(*args: Any, **kwargs: Any) -> Any:
        if kwargs or not least <= len(args) <= most:
            try:
                signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise ToolArgumentsError(f"{name}(): {exc}") from None
        return channel.call(name, args, kwargs, adapter)

    proxy.__name__ = proxy.__qualname__ = name
    proxy.__doc__ = spec.doc
    proxy.__signature__ = signature  # type: ignore[attr-defined]
    proxy.__module__ = "tools"
    return proxy


def _forget_caches() -> None:
    """Empty the standard library's caches that are keyed by snippet values: a key whose
    ``__eq__`` and ``__hash__`` lie (an IntFlag member equal to everything) would make a
    later snippet's lookup find an earlier snippet's entry (``re.compile`` with other
    flags)."""
    re_module = sys.modules.get("re")
    if re_module is not None:
        re_module.purge()
    typing_module = sys.modules.get("typing")
    for cleanup in getattr(typing_module, "_cleanups", ()):
        cleanup()


#: Decorators that change the class they are given: in the sandbox they take only the
#: snippet's own classes (a module's or a tool's class is shared with the rest of the child).
_OWN_CLASSES_ONLY = frozenset({("dataclasses", "dataclass"), ("functools", "total_ordering")})


def _own_classes_only(decorate: Any, name: str) -> Any:
    def only_own(cls: Any = None, /, **options: Any) -> Any:
        if cls is None:
            return lambda later: only_own(later, **options)
        if not isinstance(cls, type) or not is_own_class(cls):
            raise TypeError(f"{name}() applies only to classes the snippet defines")
        return register(decorate(cls, **options))  # slots=True makes a new class

    only_own.__name__ = only_own.__qualname__ = name
    only_own.__doc__ = decorate.__doc__
    return only_own


def _frozen(value: Any) -> Any:
    """A read-only copy of a mutable container, or None if ``value`` is not one."""
    if isinstance(value, dict):
        return types.MappingProxyType(dict(value))
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, set):
        return frozenset(value)
    return None


def _freeze_shared_containers(views: dict[str, types.ModuleType]) -> None:
    """Mutable containers a module view hands out are shared by every snippet of the session
    (and by the module's own code): a key whose ``__eq__`` calls a tool, put into
    ``textwrap.TextWrapper.unicode_whitespace_trans``, ran in a later snippet that named no
    tool. A view holds read-only copies of module-level ones; class-level ones are frozen in
    place (the classes use them read-only)."""
    for view in views.values():
        for attribute, value in list(vars(view).items()):
            frozen = _frozen(value)
            if frozen is not None:
                setattr(view, attribute, frozen)
            elif isinstance(value, type) and not isinstance(value, types.GenericAlias):
                for name, member in list(vars(value).items()):
                    frozen = _frozen(member)
                    if frozen is not None and not name.startswith("_"):
                        with contextlib.suppress(TypeError, AttributeError):  # C types
                            setattr(value, name, frozen)


def _module_view(
    name: str, allowed: frozenset[str], views: dict[str, types.ModuleType],
    denied: frozenset[str] = frozenset(), builtin_classes: frozenset[type] = frozenset(),
) -> types.ModuleType:
    """A copy of a module holding only its public, not denied attributes and allowed
    submodules; no metaclasses or re-exported interpreter types (``hidden_reason``)."""
    if name in views:
        return views[name]
    real = sys.modules[name]
    # Not the real name: `from m import x` falls back to sys.modules["<__name__>.x"] when the
    # attribute is missing, which would hand out the real submodule.
    view = types.ModuleType(f"{name} (sandboxed)", real.__doc__)
    views[name] = view
    for attribute, value in vars(real).items():
        if attribute.startswith("_") or attribute in denied:
            continue
        if hidden_reason(value, builtin_classes) is not None:
            continue
        if isinstance(value, types.ModuleType):
            if value.__name__ in allowed and value.__name__.startswith(name + "."):
                setattr(view, attribute, _module_view(value.__name__, allowed, views, denied,
                                                      builtin_classes))
            continue
        handed_out = value
        if (name, attribute) in _OWN_CLASSES_ONLY:
            handed_out = _own_classes_only(value, attribute)
        setattr(view, attribute, VIEW_FACTORIES.get((name, attribute), handed_out))
    return view


#: Modules C code imports on first use from the caller's frame, where `import` is the
#: snippet's restricted one (`date.strftime` imports `time`, `strptime` imports `_strptime`,
#: printing an ndarray imports `numpy._core.arrayprint`). They are handed out as views
#: without modules (`_runtime_view`); the policy still refuses them in snippets. Keyed by the
#: allowed package they serve.
RUNTIME_SUPPORT: dict[str, tuple[str, ...]] = {
    "": ("time", "_strptime"),
    "numpy": (
        "numpy._core._dtype", "numpy._core._exceptions", "numpy._core._internal",
        "numpy._core._methods", "numpy._core._multiarray_umath", "numpy._core._ufunc_config",
        "numpy._core.arrayprint", "numpy._core.multiarray", "numpy._core.numeric",
        "numpy._core.printoptions", "numpy._globals", "numpy.dtypes", "numpy.exceptions",
    ),
}

#: What allowed packages import on first use, which a sealed child cannot do (it opens no
#: files): imported in the zygote of a policy that allows the package, so that the default
#: zygote stays lean. Found by running tests/data/pandas_workload.py in a plain process and listing
#: the modules it added to sys.modules.
LAZY_IMPORTS: dict[str, tuple[str, ...]] = {
    "pandas": (
        "pandas.core.methods.to_dict", "pandas.core.reshape.reshape",
        "pandas.io.formats.csvs", "pandas.io.formats.string",
    ),
}


def _runtime_view(name: str, denied: frozenset[str]) -> types.ModuleType:
    """What C code gets when it imports a runtime-support module through the snippet's
    import: every attribute it may look up (private ones too), but no module (numpy's
    ``_internal`` holds ``ctypes``) and nothing denied. The import cannot tell C code from a
    snippet calling ``__import__`` itself, so this is also what such a snippet gets."""
    real = sys.modules[name]
    view = types.ModuleType(f"{name} (runtime support)", real.__doc__)
    for attribute, value in vars(real).items():
        if is_dunder(attribute) or attribute in denied or isinstance(value, types.ModuleType):
            continue
        setattr(view, attribute, value)
    return view


def _support_of(allowed: Iterable[str], table: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(m for top in ("", *sorted(allowed)) for m in table.get(top, ()))


#: Codecs are imported on first use, which a child cannot do: import the common ones here.
_CODECS = (
    "utf_8", "utf_8_sig", "ascii", "latin_1", "cp1252", "utf_16", "utf_32", "idna",
    "punycode", "unicode_escape", "raw_unicode_escape", "base64_codec", "hex_codec",
)


class ChildTemplate:
    """Built once in the zygote; every session child starts from a copy of it."""

    def __init__(self, spec: SandboxSpec) -> None:
        import importlib

        self.spec = spec
        policy = spec.policy
        self.limits = policy.limits
        self.types = build_types(spec)
        for made in self.types.values():
            if isinstance(made, type) and issubclass(made, BaseModel):
                register_data(made)
        self.returns = {t.name: evaluate_type(t.returns, self.types) for t in spec.tools}
        for t in spec.tools:  # build the validators now, not in the child
            TypeAdapter(self.returns[t.name])
        allowed = policy.allowed_modules
        self.runtime_support = frozenset(_support_of(allowed, RUNTIME_SUPPORT))
        for module in [*sorted(allowed), *sorted(self.runtime_support),
                       *_support_of(allowed, LAZY_IMPORTS), *(f"encodings.{c}" for c in _CODECS)]:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                if module not in allowed:
                    raise
                raise UnimportableModule(module, str(exc)) from None
        guard_enum_factory()
        harden(allowed, policy.denied_attributes)
        #: put numpy's and pandas' process-wide settings back before each snippet
        self.resets = resets(allowed)
        self.runtime_views = {name: _runtime_view(name, policy.denied_attributes)
                              for name in self.runtime_support}
        self.views: dict[str, types.ModuleType] = {}
        classes = builtin_classes(policy.allowed_builtins)
        for module in sorted(allowed):
            _module_view(module, allowed, self.views, policy.denied_attributes, classes)
        _freeze_shared_containers(self.views)
        self.builtins: dict[str, Any] = {
            name: getattr(builtins, name) for name in policy.builtins.allow
            if hasattr(builtins, name)
        }
        self.builtins["__import__"] = self._import
        self.builtins.update(WRITE_HELPERS)
        if "type" in self.builtins:
            self.builtins["type"] = make_type_of(reachable_classes(
                self.builtins.values(), self.types.values(),
                *(vars(view).values() for view in self.views.values()),
                (ToolError, ToolResultInvalid, ToolArgumentsError)))
        if "class" not in policy.forbidden_syntax:
            self.builtins["__build_class__"] = build_class

    def _import(self, name: str, globals: Any = None, locals: Any = None,
                fromlist: Any = (), level: int = 0) -> types.ModuleType:
        if level:
            raise ImportError("relative imports are not available")
        if name in self.runtime_support and name not in self.views:
            return self.runtime_views[name]
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            if ".".join(parts[:i]) not in self.views:
                raise ImportError(f"module {'.'.join(parts[:i])!r} is not allowed here")
        return self.views[name] if fromlist else self.views[parts[0]]

    def namespace(self, channel: ToolChannel) -> dict[str, Any]:
        def final_answer(value: Any) -> NoReturn:
            """Finish the task with ``value`` as the answer."""
            raise _FinalAnswer(value)

        # The namespace is a module's dict, and the module is in sys.modules under the name
        # the snippet's classes carry: dataclasses looks a class's module up there to read
        # its (string) annotations.
        module = types.ModuleType("__snippet__")
        sys.modules["__snippet__"] = module
        namespace: dict[str, Any] = module.__dict__
        namespace.update({"__builtins__": dict(self.builtins), "__name__": "__snippet__"})
        namespace.update(self.types)
        for t in self.spec.tools:
            namespace[t.name] = make_proxy(t, self.returns[t.name], channel)
        namespace["final_answer"] = final_answer
        return namespace


class Executor:
    """Runs snippets in one namespace; a snippet that fails leaves the bindings as they were."""

    def __init__(self, sandbox: ChildTemplate, channel: ToolChannel) -> None:
        limits = sandbox.limits
        self.limits = limits
        self.guard_writes = sandbox.spec.guard_writes
        self.resets = sandbox.resets
        self.channel = channel
        self.namespace = sandbox.namespace(channel)
        # The engine's names as every snippet must find them (the policy refuses rebinding
        # them, P113; this holds even when the static checks are off).
        self.engine_names = {k: v for k, v in self.namespace.items()
                             if not k.startswith("__")}
        self.builtins = self.namespace["__builtins__"]
        flood = max(limits.output_flood_bytes, limits.max_output_bytes)
        self.stdout = Output(limits.max_output_bytes, flood)
        self.stderr = Output(limits.max_output_bytes, flood)

    def run(self, source: str) -> dict[str, Any]:
        self.stdout.reset()
        self.stderr.reset()
        self.channel.calls = 0
        self.namespace.update(self.engine_names)
        self.namespace["__builtins__"] = self.builtins
        self.namespace.pop("print", None)  # a global `print` would shadow the builtin
        _forget_caches()
        for reset in self.resets:
            reset()
        before = dict(self.namespace)
        sys.stdout, sys.stderr = self.stdout, self.stderr
        cpu_start = time.process_time()
        try:
            outcome = self._execute(source)
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        if not outcome["ok"]:
            self.namespace.clear()
            self.namespace.update(before)
        # Keys of a namespace a snippet could reach through frames need not be strings.
        changed = sorted(k for k, v in self.namespace.items()
                         if type(k) is str and not k.startswith("__")
                         and (k not in before or before[k] is not v))[:MAX_NAMES]
        usage = resource.getrusage(resource.RUSAGE_SELF)
        outcome.update(
            stdout=self.stdout.getvalue(), stderr=self.stderr.getvalue(),
            truncated=self.stdout.truncated or self.stderr.truncated,
            output_bytes=self.stdout.total + self.stderr.total,
            names=changed, cpu_ms=(time.process_time() - cpu_start) * 1000,
            peak_memory_bytes=usage.ru_maxrss * 1024,
        )
        return outcome

    def _execute(self, source: str) -> dict[str, Any]:
        """Run the snippet and turn what it produced into data.

        Everything that can run snippet code happens in here, under the snippet's limits and
        with its output captured: the snippet itself, and also serialising its answer (a
        generator runs), describing its exception (``__str__`` runs) or its value (``__repr__``
        runs). Nothing a snippet defines or passes runs anywhere else in this process.
        """
        limit = self.limits.max_answer_bytes
        try:
            body, last = _compile(source, self.guard_writes)
            exec(body, self.namespace)
            value = None
            if last is not None:
                result = eval(last, self.namespace)
                if result is not None:
                    value = _jsonable(result, limit)
            return {"ok": True, "final": False, "value": value, "error": None}
        except _FinalAnswer as done:
            try:
                return {"ok": True, "final": True, "value": _answer(done.value, limit),
                        "error": None}
            except _BadAnswer as exc:
                return _failed(_error("R209", str(exc), None, source))
            except _Stop as stop:
                return _failed(_error(stop.code, stop.message, None, source))
            except BaseException as exc:  # the answer's own code failed while it was encoded
                return _failed(_exception_error(exc, source))
        except _Stop as stop:
            return _failed(_error(stop.code, stop.message, None, source))
        except BaseException as exc:  # the snippet's own failure, whatever it is
            return _failed(_exception_error(exc, source))


def _failed(error: dict[str, Any]) -> dict[str, Any]:
    return {"ok": False, "final": False, "value": None, "error": error}


def _compile(source: str, guard: bool = True) -> tuple[types.CodeType, types.CodeType | None]:
    """The snippet's code, its attribute stores through the write barrier when ``guard``; a
    trailing expression is compiled apart so its value is kept."""
    # compile() itself, not ast.parse(): the trusted side calls only builtins here.
    tree = compile(source, SNIPPET_FILENAME, "exec", ast.PyCF_ONLY_AST)
    assert isinstance(tree, ast.Module)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        trailing = tree.body.pop()
        assert isinstance(trailing, ast.Expr)
        expression = ast.Expression(trailing.value)
        last = compile(expression, SNIPPET_FILENAME, "eval")
    if guard:  # after the split: a rewritten store is a call, not the snippet's value
        tree = guard_writes(tree)
    return compile(tree, SNIPPET_FILENAME, "exec"), last


class _BadAnswer(Exception):
    """The answer is not data, or too large (and not an exception the snippet raised)."""


def _jsonable(value: Any, limit: int) -> Any:
    try:
        return _answer(value, limit)
    except _BadAnswer:
        text = _text(repr, value, f"<{_type_name(value)} object>")
        return text if len(text) <= 1000 else text[:1000] + "…"


def _array_data(value: Any) -> Any:
    """numpy values and pandas frames as JSON data (pydantic's fallback for unknown types):
    a scalar as its number, an array as nested lists, a frame as its rows, a series as
    ``{index: value}``. Anything else stays refused."""
    numpy = sys.modules.get("numpy")
    pandas = sys.modules.get("pandas")
    if numpy is not None:
        if isinstance(value, numpy.generic):
            return value.item()
        if isinstance(value, numpy.ndarray):
            return value.tolist()
    if pandas is not None:
        if isinstance(value, (pandas.DataFrame, pandas.Series)):
            # JSON has no NaN: a missing value is null
            value = value.astype(object).where(value.notna(), None)
            return value.to_dict("records") if isinstance(value, pandas.DataFrame) \
                else value.to_dict()
        if isinstance(value, pandas.Index):
            return value.tolist()
    raise _NotData


class _NotData(Exception):
    """pydantic's fallback met a value that is not data."""


def _answer(value: Any, limit: int) -> Any:
    try:
        data = to_jsonable_python(tag_bytes(value), fallback=_array_data)
        size = len(to_json(data))
    except (PydanticSerializationError, _NotData) as exc:
        if "surrogates not allowed" not in str(exc):
            raise _BadAnswer(
                f"the final answer must be data (str, number, bool, None, lists and dicts of "
                f"them, or the tools' models), not {_type_name(value)}"
            ) from None
        data = _without_surrogates(data)
        size = len(to_json(data))
    except (ValueError, RecursionError) as exc:
        if _snippet_frames(exc):
            raise  # the snippet's own code (a generator) failed while its answer was read
        raise _BadAnswer(f"the final answer cannot be turned into JSON: {exc}") from None
    if size > limit:
        advice = ("; answer with an aggregate or the first rows (`df.head(20)`)"
                  if type(value).__module__.split(".")[0] in ("pandas", "numpy") else "")
        raise _BadAnswer(f"the final answer is {size} bytes of JSON; the limit is {limit}"
                         + advice)
    _plain_enough(data)
    return data


#: What the parent's JSON reader takes: nesting and integer size within its bounds.
_MAX_NESTING = 100
_MAX_INT = 10**300


def _plain_enough(data: Any) -> None:
    """Refuse an answer nested deeper, or holding larger integers, than the parent reads."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > _MAX_NESTING:
            raise _BadAnswer(f"the final answer nests more than {_MAX_NESTING} levels deep")
        if type(item) is int and not -_MAX_INT < item < _MAX_INT:
            raise _BadAnswer("the final answer holds an integer of more than 300 digits; "
                             "pass it as a string")
        if type(item) is list:
            stack.extend((child, depth + 1) for child in item)
        elif type(item) is dict:
            stack.extend((child, depth + 1) for child in item.values())


def _without_surrogates(data: Any) -> Any:
    """Plain JSON data (as pydantic-core builds it) with lone surrogates made ``?``."""
    if type(data) is str:
        return data.encode("utf-8", "replace").decode("utf-8")
    if type(data) is list:
        return [_without_surrogates(item) for item in data]
    if type(data) is dict:
        return {_without_surrogates(k): _without_surrogates(v) for k, v in data.items()}
    return data


def _type_name(value: Any) -> str:
    """The name of a value's class; a class can make even that run code, so it is guarded."""
    name = _text(lambda v: type(v).__name__, value, "object")
    return name if name.isidentifier() else "object"


def _text(render: Callable[[Any], Any], value: Any, fallback: str) -> str:
    """``render(value)`` as a string of at most _MESSAGE_LIMIT characters, or ``fallback``.

    ``str(exc)`` and ``repr(x)`` run the snippet's own methods: they may raise anything, return
    a non-string, or print; none of that may reach the trusted code that asked.
    """
    try:
        text = render(value)
    except BaseException:
        return fallback
    if type(text) is not str:
        return fallback
    return text[:_MESSAGE_LIMIT]


def _error(code: str, message: str, exc: BaseException | None, source: str) -> dict[str, Any]:
    frames = _snippet_frames(exc) if exc is not None else []
    where = frames[-1] if frames else None
    return {
        "code": code,
        "type": _type_name(exc) if exc is not None else None,
        "message": message[:_MESSAGE_LIMIT],
        "line": where.lineno if where else None,
        "column": (where.colno or 0) + 1 if where else None,
        "end_line": where.end_lineno if where else None,
        "end_column": (where.end_colno or 0) + 1 if where and where.end_colno else None,
        "traceback": _traceback_text(exc, frames, source) if exc is not None else None,
    }


def _snippet_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    # extract_tb keeps column positions; looking up "<snippet>" lines reads no file. The
    # traceback is read from the exception object, which the snippet may have made strange.
    try:
        slot: Any = BaseException.__dict__["__traceback__"]
        tb = slot.__get__(exc)  # the real slot, not a property the snippet's class defines
        return [f for f in traceback.extract_tb(tb) if f.filename == SNIPPET_FILENAME]
    except BaseException:
        return []


#: Frames kept at each end of a long traceback, and the size of one quoted source line.
_TRACEBACK_ENDS = 10
_TRACEBACK_LINE = 200
_TRACEBACK_CHARS = 15_000  # the parent refuses more (broker.TRACEBACK_CHARS)


def _traceback_text(exc: BaseException, frames: list[traceback.FrameSummary],
                    source: str) -> str:
    """The snippet-only traceback, bounded: deep recursion keeps its first and last frames."""
    lines = source.splitlines()
    out = ["Traceback (most recent call last):"]
    shown = frames
    if len(frames) > 2 * _TRACEBACK_ENDS:
        shown = [*frames[:_TRACEBACK_ENDS], *frames[-_TRACEBACK_ENDS:]]
    for index, frame in enumerate(shown):
        if index == _TRACEBACK_ENDS and len(shown) < len(frames):
            out.append(f"  [... {len(frames) - len(shown)} more frames ...]")
        where = "<module>" if frame.name == "<module>" else frame.name[:_TRACEBACK_LINE]
        out.append(f"  line {frame.lineno}, in {where}")
        if frame.lineno and 1 <= frame.lineno <= len(lines):
            out.append(f"    {lines[frame.lineno - 1].strip()[:_TRACEBACK_LINE]}")
    message = _text(str, exc, "")
    out.append(f"{_type_name(exc)}: {message}".rstrip(": "))
    return "\n".join(out)[:_TRACEBACK_CHARS]


_EXCEPTION_CODES: dict[type[BaseException], str] = {
    ToolResultInvalid: "R104",
    ToolError: "R102",
    ToolArgumentsError: "R103",
    MemoryError: "R202",
    RecursionError: "R210",
}


def _is(exc: BaseException, kind: type[BaseException]) -> bool:
    # isinstance() consults the object's __class__, which a snippet's class can fake.
    return issubclass(type(exc), kind)


def _exception_error(exc: BaseException, source: str) -> dict[str, Any]:
    code = next((c for t, c in _EXCEPTION_CODES.items() if _is(exc, t)), "R101")
    name = _type_name(exc)
    text = _text(str, exc, "")
    message = f"{name}: {text}" if text else name
    if code == "R202":
        message = "the snippet ran out of memory (MemoryError)"
    return _error(code, message, exc, source)


def prepare(sandbox: ChildTemplate, in_fd: int, out_fd: int) -> Executor:
    """The executor every child starts with (built in the zygote, copied by fork)."""
    limits = sandbox.limits
    channel = ToolChannel(in_fd, out_fd, limits.max_tool_result_bytes,
                      limits.max_tool_argument_bytes, limits.max_tool_calls)
    return Executor(sandbox, channel)


def serve(executor: Executor) -> NoReturn:
    """The session child's main loop: one RUN in, one DONE out, until the pipe closes.

    This loop and what it calls use only objects no snippet can reach without interpreter
    internals the policy refuses: pydantic-core's JSON codec (Rust), the frame codec (a C
    struct and os calls) and this module's own functions. In particular nothing here uses
    the ``json`` module or any other module a snippet may import, whose classes are shared
    with the snippet and could be changed by it (SECURITY.md, "the child's own loop").
    """
    out_fd = executor.channel.out_fd
    # Taken before any snippet runs, like everything else this loop calls.
    seeders = _seeders()
    write_frame(out_fd, Kind.READY, to_json({"pid": os.getpid()}))
    reader = executor.channel.reader
    first = True
    while True:
        try:
            executor.channel.settle()
            kind, payload = reader.read()
        except Exception:
            os._exit(0)  # the parent went away
        if kind is not Kind.RUN:
            os._exit(70)
        request = from_json(payload)
        if first:
            # The session's seed: this process may have been forked before the session
            # existed (a spare), and a restored session replays the same draws.
            first = False
            seed = request.get("seed")
            if isinstance(seed, int):
                for seeder in seeders:
                    seeder(seed)
        outcome = executor.run(request["source"])
        outcome["id"] = request["id"]
        write_frame(out_fd, Kind.DONE, _encode_outcome(outcome))


def _seeders() -> list[Callable[[int], object]]:
    """The global generators a session's seed sets: ``random``'s and numpy's (which takes
    32 bits)."""
    found: list[Callable[[int], object]] = []
    if "random" in sys.modules:
        found.append(sys.modules["random"].seed)
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        seed_numpy = numpy_random.seed
        found.append(lambda seed: seed_numpy(seed % 2**32))
    return found


def _encode_outcome(outcome: dict[str, Any]) -> bytes:
    """The DONE payload. Every value in it is plain data built by this module (the answer
    already went through pydantic-core); text that is not UTF-8 becomes ``?``."""
    try:
        return to_json(outcome)
    except PydanticSerializationError:
        return to_json(_without_surrogates(outcome))
