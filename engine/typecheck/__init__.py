"""Stage 3: type checking against generated tool stubs (mypy is imported lazily)."""

from engine.typecheck.context import Binding, SessionContext

__all__ = ["Binding", "SessionContext"]
