"""What an allowed module exposes: which of its attributes are themselves modules.

``json.decoder`` and ``statistics.sys`` are module objects hanging off allowed modules; the
policy must treat reaching them like importing them. Allowed modules are trusted code (the
policy author listed them), so importing them here to look is safe.
"""

from __future__ import annotations

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


def is_importable(name: str) -> bool:
    return _module(name) is not None
