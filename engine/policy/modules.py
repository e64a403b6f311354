"""What an allowed module exposes: which of its attributes are modules, which metaclasses.

``json.decoder`` and ``statistics.sys`` are module objects hanging off allowed modules; the
policy must treat reaching them like importing them. Allowed modules are trusted code (the
policy author listed them), so importing them here to look is safe.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import types
from functools import lru_cache


@lru_cache(maxsize=256)
def _module(name: str) -> types.ModuleType | None:
    try:
        return importlib.import_module(name)
    except Exception:  # an allowed module that cannot be imported is a policy mistake
        return None


def submodule_of(module: str, attribute: str) -> str | None:
    """The full name of the module reached by ``module.attribute``, if it is a module."""
    mod = _module(module)
    if mod is None:
        return None
    value = getattr(mod, attribute, None)
    if isinstance(value, types.ModuleType):
        return value.__name__
    if value is None:
        # `from pkg import sub` also works for a submodule not yet imported by the package.
        try:
            found = importlib.util.find_spec(f"{module}.{attribute}")
        except (ImportError, ValueError):
            return None
        return f"{module}.{attribute}" if found is not None else None
    return None


METACLASS_HINT = ("a metaclass makes a class from a dict, outside the rules for classes; "
                  "write a `class` statement")
INTERPRETER_TYPE_HINT = ("an interpreter type re-exported by the module (function, method, "
                         "mapping proxy...); use the values you have, not their types")


def hidden_reason(value: object, builtin_classes: frozenset[type]) -> str | None:
    """Why a module's public attribute is not a snippet's to use, or None.

    Metaclasses (``typing.ABCMeta``, ``enum.EnumType``) make classes from a dict with any
    special methods; interpreter types a module merely re-exports (``dataclasses.
    FunctionType``, ``contextlib.MethodType``) build functions and bound methods. Builtins
    the policy allows stay (``typing.Text`` is ``str``).
    """
    if not isinstance(value, type):
        return None
    if issubclass(value, type):
        return METACLASS_HINT
    if value.__module__ in ("builtins", "types") and value not in builtin_classes:
        return INTERPRETER_TYPE_HINT
    return None


def hidden_attribute(module: str, attribute: str,
                     builtin_classes: frozenset[type]) -> str | None:
    """:func:`hidden_reason` for ``module.attribute``."""
    mod = _module(module)
    return hidden_reason(getattr(mod, attribute, None), builtin_classes) if mod else None


@lru_cache(maxsize=64)
def builtin_classes(allowed: frozenset[str]) -> frozenset[type]:
    """The classes among the allowed builtins."""
    found = (getattr(builtins, name, None) for name in allowed)
    return frozenset(v for v in found if isinstance(v, type))


