"""Exceptions for mistakes of the trusted side: bad policy files, bad tool definitions.

Problems in a snippet are never exceptions; they are ``Diagnostic`` objects in a report.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a configuration file, located by file and dotted key."""

    source: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.key}" if self.key else self.source
        return f"{where}: {self.message}"


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class PolicyError(EngineError):
    """A policy file could not be found, parsed or validated."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("invalid policy:\n" + "\n".join(f"  {issue}" for issue in issues))


class ToolDefinitionError(EngineError):
    """A tool cannot be offered to snippets as declared (missing annotations, bad types...)."""


class ToolArgumentError(EngineError):
    """A brokered call's arguments do not match the tool's signature."""


class ToolResultError(EngineError):
    """A tool returned a value that does not match its declared return type."""


class SandboxUnavailableError(EngineError):
    """Snippets cannot be executed safely on this machine (no seccomp, not Linux...)."""


class CheckerUnavailableError(EngineError):
    """A check worker could not be started (the message says why)."""


class ToolLoadError(EngineError):
    """A ``--tools`` specification could not be imported or holds no tools."""
