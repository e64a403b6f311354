"""LibCST's scope metadata without its per-call member inspection.

``MetadataWrapper.resolve(ScopeProvider)`` runs two batched providers, and LibCST's batched
traversal asks each provider instance for its ``visit_``/``leave_`` methods with
``inspect.getmembers``: ~1,600 members per provider, on every snippet. That lookup cost more
than two thirds of the whole policy stage (issue 14). Which methods a provider defines
depends only on its class, so the names are looked up once per class and bound per instance:
the mapping is the same as LibCST's own (``tests/test_scope_metadata.py`` compares them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from libcst import BatchableCSTVisitor
from libcst.metadata import ExpressionContextProvider, ScopeProvider

_NAMES: dict[type[BatchableCSTVisitor], tuple[str, ...]] = {}


def _get_visitors(self: BatchableCSTVisitor) -> Mapping[str, Any]:
    kind = type(self)
    names = _NAMES.get(kind)
    if names is None:
        names = _NAMES[kind] = tuple(BatchableCSTVisitor.get_visitors(self))
    return {name: getattr(self, name) for name in names}


#: The providers ``ParsedSnippet.scopes`` resolves (the scope provider and its dependency).
PROVIDERS: tuple[type[BatchableCSTVisitor], ...] = (ExpressionContextProvider, ScopeProvider)


def install() -> None:
    """Give the scope providers the per-class lookup (idempotent)."""
    for provider in PROVIDERS:
        if provider.__dict__.get("get_visitors") is not _get_visitors:
            setattr(provider, "get_visitors", _get_visitors)  # noqa: B010


__all__ = ["PROVIDERS", "install"]
