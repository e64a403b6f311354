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
    """Functions that put numpy's and pandas' process-wide settings back as they are now."""
    tops = {name.split(".")[0] for name in allowed}
    found: list[Callable[[], None]] = []
    numpy = sys.modules.get("numpy")
    if "numpy" in tops and numpy is not None:
        found.append(_numpy_reset(numpy))
    pandas = sys.modules.get("pandas")
    if "pandas" in tops and pandas is not None:
        found.append(_pandas_reset(pandas))
    return found


def _numpy_reset(np: Any) -> Callable[[], None]:
    printoptions = np.get_printoptions()
    errors = np.geterr()
    get_printoptions, set_printoptions = np.get_printoptions, np.set_printoptions
    geterr, seterr, geterrcall, seterrcall = np.geterr, np.seterr, np.geterrcall, np.seterrcall

    def reset() -> None:
        if get_printoptions() != printoptions:
            set_printoptions(**printoptions)
        if geterr() != errors:
            seterr(**errors)
        if geterrcall() is not None:
            seterrcall(None)

    return reset


def _pandas_reset(pd: Any) -> Callable[[], None]:
    # pandas' option registry (private, and untyped in pandas-stubs): loaded with pandas
    config: Any = sys.modules["pandas._config.config"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        defaults = {key: config.get_option(key) for key in config._registered_options}
    get_option, set_option = config.get_option, config.set_option
    current = config._global_config  # the options' values, nested by their dotted names
    snapshot = copy.deepcopy(current)

    def reset() -> None:
        if current == snapshot:
            return  # the usual case, in microseconds
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for key, value in defaults.items():
                if get_option(key) is not value and get_option(key) != value:
                    set_option(key, value)

    return reset


__all__ = ["PANDAS_DISPATCH_MODULES", "guarded_lookups", "harden", "resets"]
