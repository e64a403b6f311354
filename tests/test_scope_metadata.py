"""``engine.scope_metadata``: the per-class visitor lookup gives LibCST's own answer."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import MetadataWrapper, ScopeProvider

from engine import scope_metadata
from engine.parsing import ParsedSnippet, parse_cst


def test_the_cached_lookup_is_libcsts_own() -> None:
    scope_metadata.install()
    for provider in scope_metadata.PROVIDERS:
        made = provider()
        ours = made.get_visitors()
        theirs = cst.BatchableCSTVisitor.get_visitors(made)
        assert ours.keys() == theirs.keys()
        assert all(ours[name] == theirs[name] for name in ours)  # bound to the same instance
        assert all(getattr(ours[name], "__self__", None) is made for name in ours)


def test_install_is_idempotent_and_scopes_still_resolve() -> None:
    scope_metadata.install()
    scope_metadata.install()
    source = "def f(a):\n    return [a + b for b in range(3)]\nx = f(1)\n"
    parsed = parse_cst(source)
    assert isinstance(parsed, ParsedSnippet)
    ours = parsed.module_bindings
    fresh = MetadataWrapper(cst.parse_module(source)).resolve(ScopeProvider)
    scope = fresh[next(iter(k for k in fresh if isinstance(k, cst.Module)))]
    assert scope is not None
    assert ours == tuple(sorted({a.name for a in scope.assignments}))
