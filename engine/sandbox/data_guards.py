"""numpy and pandas made fit for the sandbox, in the zygote of a policy that allows them.

Three things in them would let a snippet step around the Python-level restrictions:

* **methods named by a string.** ``s.agg("sum")`` looks ``"sum"`` up with ``getattr`` and calls
  it; so would ``S.agg(S, "__getattribute__", 0, obj, name)``, which is
  ``object.__getattribute__(obj, name)``: any attribute of any object, with the name built
  at run time where no static check sees it. The modules that dispatch this way get a
  ``getattr``/``hasattr`` of their own that refuses interpreter and private names and the
  policy's denied ones (a module's globals shadow the builtins for its own code only).
* **``ndarray.ctypes``**, whose helper object keeps the real ``ctypes`` module (and through it
  ``os`` and ``sys``) in an attribute: numpy is told it has no ``ctypes``, as on a platform
  without it, and hands out its stand-in.
* **process-wide settings that hold callables**: ``np.seterrcall``, ``np.set_printoptions
  (formatter=...)``, ``pd.set_option("display.float_format", f)``. A function one snippet
  installs would run inside the next one. ``resets`` puts them back before every snippet.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import sys
import warnings
from collections.abc import Callable, Iterable
from typing import Any

#: Where pandas resolves a method from a string (agg, transform, apply, groupby, resample,
#: rolling). Their own code passes these private or special names, which stay allowed.
PANDAS_DISPATCH_MODULES = (
    "pandas.core.apply", "pandas.core.groupby.generic", "pandas.core.groupby.groupby",
    "pandas.core.resample", "pandas.core.window.rolling",
)
_PANDAS_OWN_NAMES = frozenset({"__array__", "_period_dtype_code"})


def _refused(name: object, denied: frozenset[str]) -> bool:
    return isinstance(name, str) and name not in _PANDAS_OWN_NAMES and (
        name.startswith("_") or name in denied)


def guarded_lookups(denied: frozenset[str]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``getattr`` and ``hasattr`` that refuse private, special and denied names."""
    real_getattr, real_hasattr = builtins.getattr, builtins.hasattr

    def getattr(obj: Any, name: str, *default: Any) -> Any:
        if _refused(name, denied):
            raise AttributeError(f"{name!r} cannot be named by a string here")
        return real_getattr(obj, name, *default)

    def hasattr(obj: Any, name: str) -> bool:
        return not _refused(name, denied) and real_hasattr(obj, name)

    return getattr, hasattr


def harden(allowed: Iterable[str], denied: frozenset[str]) -> None:
    """Apply the guards to the allowed packages (imported already, in the zygote)."""
    tops = {name.split(".")[0] for name in allowed}
    if "pandas" in tops:
        getattr_, hasattr_ = guarded_lookups(denied)
        for name in PANDAS_DISPATCH_MODULES:
            module = sys.modules.get(name)
            if module is not None:
                module.getattr = getattr_  # type: ignore[attr-defined]
                module.hasattr = hasattr_  # type: ignore[attr-defined]
    internal = sys.modules.get("numpy._core._internal")
    if "numpy" in tops and internal is not None:
        internal.ctypes = None  # type: ignore[attr-defined]


def resets(allowed: Iterable[str]) -> list[Callable[[], None]]:
    """Functions that put numpy's and pandas' process-wide state back as it is now.

    They never call a method of a value a snippet may have put there (no ``==``, no hashing
    of its keys): a value whose ``__eq__`` always answered "equal" would otherwise never be
    reset, and would run inside every later snippet."""
    tops = {name.split(".")[0] for name in allowed}
    found: list[Callable[[], None]] = []
    numpy = sys.modules.get("numpy")
    if "numpy" in tops and numpy is not None:
        found.append(_numpy_reset(numpy))
    pandas = sys.modules.get("pandas")
    if "pandas" in tops and pandas is not None:
        found.append(_pandas_reset())
    clears = _cache_clears(tops & {"numpy", "pandas"})
    if clears:
        def clear_caches() -> None:
            for clear in clears:
                clear()
        found.append(clear_caches)
    return found


def _cache_clears(packages: set[str]) -> list[Callable[[], None]]:
    """``cache_clear`` of every ``functools`` cache the packages define (module functions and
    methods): a cached key that is a snippet's object with a lying ``__hash__`` and ``__eq__``
    would have its ``__eq__`` run by a later snippet's lookup (found: pandas'
    ``_maybe_promote_cached``)."""
    clears: dict[int, Callable[[], None]] = {}
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in packages:
            continue
        candidates: list[Any] = []
        for value in list(vars(module).values()):
            candidates.append(value)
            if isinstance(value, type) and value.__module__ == name:
                for member in vars(value).values():
                    function = getattr(member, "__func__", member)
                    candidates.append(getattr(function, "fget", function))
        for candidate in candidates:
            clear = getattr(candidate, "cache_clear", None)
            if callable(clear) and hasattr(candidate, "cache_info"):
                clears[id(candidate)] = clear
    return list(clears.values())


_PLAIN = (int, float, str, bool, type(None))


def _unchanged(live: Any, saved: Any) -> bool:
    """``live is saved``, or both the same plain value: never a call into ``live``'s class."""
    if live is saved:
        return True
    return type(saved) in _PLAIN and type(live) is type(saved) and live == saved


def _numpy_reset(np: Any) -> Callable[[], None]:
    printoptions = np.get_printoptions()
    errors = np.geterr()
    get_printoptions, set_printoptions = np.get_printoptions, np.set_printoptions
    geterr, seterr, geterrcall, seterrcall = np.geterr, np.seterr, np.geterrcall, np.seterrcall

    def reset() -> None:
        # numpy builds these dicts itself, with its own string keys
        now = get_printoptions()
        if any(not _unchanged(now.get(key), value) for key, value in printoptions.items()):
            set_printoptions(**printoptions)
        now = geterr()
        if any(not _unchanged(now.get(key), value) for key, value in errors.items()):
            seterr(**errors)
        if geterrcall() is not None:
            seterrcall(None)

    return reset


def _pandas_reset() -> Callable[[], None]:
    # pandas' option registry (private, and untyped in pandas-stubs): loaded with pandas
    config: Any = sys.modules["pandas._config.config"]
    live = config._global_config  # the values, nested by the options' dotted names;
    saved = copy.deepcopy(live)    # a snippet reaches it as pd.options.d
    callbacks = {key: option.cb for key, option in config._registered_options.items()
                 if option.cb is not None}

    def changed(now: Any, then: dict[str, Any], prefix: str, out: list[str]) -> None:
        if type(now) is not dict:
            out.append(prefix.rstrip(".") or "*")
            return
        # iterating calls nothing of the snippet's; with only exact str keys, a lookup hashes
        # and compares nothing but str
        plain = all(type(key) is str for key in list(now))
        if not plain or any(key not in then for key in list(now)):
            out.append("*")
        for key, value in then.items():
            current = now.get(key, _MISSING) if plain else _MISSING
            if type(value) is dict:
                changed(current, value, f"{prefix}{key}.", out)
            elif not _unchanged(current, value):
                out.append(f"{prefix}{key}")

    def reset() -> None:
        differences: list[str] = []
        changed(live, saved, "", differences)
        if not differences:
            return  # the usual case
        live.clear()
        live.update(copy.deepcopy(saved))
        for key in differences:
            callback = callbacks.get(key)
            if callback is not None:
                with warnings.catch_warnings(), contextlib.suppress(Exception):
                    warnings.simplefilter("ignore")
                    callback(key)  # derived state follows the restored default

    return reset


_MISSING = object()


__all__ = ["PANDAS_DISPATCH_MODULES", "guarded_lookups", "harden", "resets"]
