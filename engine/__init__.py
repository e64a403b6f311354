"""codeact-engine: a static-analysis-first safe execution engine for model-written code.

The public surface is re-exported here; everything else is internal. Names are imported on
first use, so that a process that needs one part (the sandbox's zygote needs no parser and
no type checker) does not load the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.lazy import lazy_exports

if TYPE_CHECKING:
    from engine.async_engine import AsyncEngine, AsyncSession
    from engine.codes import CATALOG, Code
    from engine.diagnostics import Diagnostic, Severity, Stage
    from engine.errors import (
        CheckerUnavailableError,
        ConfigIssue,
        EngineError,
        PolicyError,
        SandboxUnavailableError,
        ToolDefinitionError,
        ToolLoadError,
    )
    from engine.parsing import ParsedSnippet, parse
    from engine.pipeline import Engine
    from engine.policy.model import Policy
    from engine.results import CheckReport, RunResult, StageReport, StageStatus, ToolCall, Usage
    from engine.session import Session
    from engine.stubs import render_prompt_view, render_stubs
    from engine.tools import Tool, ToolRegistry, load_tools, tool
    from engine.typecheck.context import Binding, SessionContext
    from engine.workers import EnginePool, PooledSession, WorkerLostError

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "AsyncEngine": "engine.async_engine",
    "AsyncSession": "engine.async_engine",
    "CATALOG": "engine.codes",
    "Code": "engine.codes",
    "Diagnostic": "engine.diagnostics",
    "Severity": "engine.diagnostics",
    "Stage": "engine.diagnostics",
    "CheckerUnavailableError": "engine.errors",
    "ConfigIssue": "engine.errors",
    "EngineError": "engine.errors",
    "PolicyError": "engine.errors",
    "SandboxUnavailableError": "engine.errors",
    "ToolDefinitionError": "engine.errors",
    "ToolLoadError": "engine.errors",
    "ParsedSnippet": "engine.parsing",
    "parse": "engine.parsing",
    "Engine": "engine.pipeline",
    "Policy": "engine.policy.model",
    "CheckReport": "engine.results",
    "RunResult": "engine.results",
    "StageReport": "engine.results",
    "StageStatus": "engine.results",
    "ToolCall": "engine.results",
    "Usage": "engine.results",
    "Session": "engine.session",
    "render_prompt_view": "engine.stubs",
    "render_stubs": "engine.stubs",
    "Tool": "engine.tools",
    "ToolRegistry": "engine.tools",
    "load_tools": "engine.tools",
    "tool": "engine.tools",
    "Binding": "engine.typecheck.context",
    "SessionContext": "engine.typecheck.context",
    "EnginePool": "engine.workers",
    "PooledSession": "engine.workers",
    "WorkerLostError": "engine.workers",
}

__all__ = [
    "CATALOG",
    "AsyncEngine",
    "AsyncSession",
    "Binding",
    "CheckReport",
    "CheckerUnavailableError",
    "Code",
    "ConfigIssue",
    "Diagnostic",
    "Engine",
    "EngineError",
    "EnginePool",
    "ParsedSnippet",
    "Policy",
    "PolicyError",
    "PooledSession",
    "RunResult",
    "SandboxUnavailableError",
    "Session",
    "SessionContext",
    "Severity",
    "Stage",
    "StageReport",
    "StageStatus",
    "Tool",
    "ToolCall",
    "ToolDefinitionError",
    "ToolLoadError",
    "ToolRegistry",
    "Usage",
    "WorkerLostError",
    "__version__",
    "load_tools",
    "parse",
    "render_prompt_view",
    "render_stubs",
    "tool",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
