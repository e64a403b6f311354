"""codeact-engine: a static-analysis-first safe execution engine for model-written code.

The public surface is re-exported here; everything else is internal.
"""

from engine.codes import CATALOG, Code
from engine.diagnostics import Diagnostic, Severity, Stage
from engine.errors import ConfigIssue, EngineError, PolicyError, ToolDefinitionError, ToolLoadError
from engine.parse import ParsedSnippet, parse
from engine.pipeline import Engine
from engine.policy import Policy
from engine.results import CheckReport, StageReport, StageStatus
from engine.stubs import render_prompt_view, render_stubs
from engine.tools import Tool, ToolRegistry, load_tools, tool
from engine.typecheck import Binding, SessionContext

__version__ = "0.1.0"

__all__ = [
    "CATALOG",
    "Binding",
    "CheckReport",
    "Code",
    "ConfigIssue",
    "Diagnostic",
    "Engine",
    "EngineError",
    "ParsedSnippet",
    "Policy",
    "PolicyError",
    "SessionContext",
    "Severity",
    "Stage",
    "StageReport",
    "StageStatus",
    "Tool",
    "ToolDefinitionError",
    "ToolLoadError",
    "ToolRegistry",
    "__version__",
    "load_tools",
    "parse",
    "render_prompt_view",
    "render_stubs",
    "tool",
]
