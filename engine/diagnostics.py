"""The one shape in which a finding leaves any stage of the pipeline."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Stage(StrEnum):
    """Where in the pipeline a diagnostic was produced, in pipeline order."""

    PARSE = "parse"
    POLICY = "policy"
    TYPES = "types"
    RUNTIME = "runtime"
    EXTRACT = "extract"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


class Diagnostic(BaseModel):
    """A finding about a snippet, with everything a model needs to act on it.

    Lines and columns are 1-based; ``end_column`` is exclusive, as in SARIF and editors.
    """

    model_config = ConfigDict(frozen=True)

    stage: Stage
    code: str = Field(description="Stable code from the catalog, e.g. P101.")
    rule: str = Field(description="Kebab-case rule name; for types, mypy's own error code.")
    severity: Severity = Severity.ERROR
    message: str
    line: int = Field(ge=1)
    column: int = Field(ge=1)
    end_line: int | None = None
    end_column: int | None = None
    source_line: str = Field(default="", description="The offending line of the snippet.")
    hint: str | None = Field(default=None, description="What to do instead.")

    @property
    def location(self) -> str:
        return f"{self.line}:{self.column}"


def line_of(source: str, line: int) -> str:
    """The text of a 1-based line of ``source`` (empty when out of range)."""
    lines = source.splitlines()
    if 1 <= line <= len(lines):
        return lines[line - 1]
    return ""
