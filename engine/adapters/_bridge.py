"""What the adapters share: foreign tools as engine tools, data as snippet assignments, and
one sandboxed session that is replaced when the tools change."""

from __future__ import annotations

import inspect
import json
import keyword
import logging
from collections.abc import Callable, Mapping
from typing import Any

from pydantic_core import to_jsonable_python

from engine.pipeline import Engine, Isolation
from engine.policy.model import Policy
from engine.session import Session
from engine.tools import ToolRegistry

log = logging.getLogger(__name__)


class SandboxSlot:
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


def as_data(value: Any) -> Any:
    """The value as JSON-like data, or raise ValueError."""
    try:
        data = to_jsonable_python(value)
        json.dumps(data)
    except Exception as exc:
        raise ValueError(f"{type(value).__name__} is not data") from exc
    return data


def assign(session: Session, variables: Mapping[str, Any]) -> list[str]:
    """Bind data variables in a session (as literals); return the names that were bound."""
    lines = []
    for name, value in variables.items():
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
            log.warning("variable %r is not a valid snippet name; not sent", name)
            continue
        try:
            lines.append(f"{name} = {as_data(value)!r}")
        except ValueError:
            log.warning("variable %r (%s) is not data; not sent", name, type(value).__name__)
    if not lines:
        return []
    result = session.run("\n".join(lines))
    if not result.ok:
        raise RuntimeError("could not set variables in the sandbox: "
                           + "; ".join(d.message for d in result.diagnostics))
    return [line.split(" = ", 1)[0] for line in lines]
