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


#: A diagnostic quotes at most this much of its line, and a stage reports at most this many
#: findings (then one note saying how many more): a report stays small whatever the snippet.
SOURCE_LINE_CHARS = 300
MAX_PER_STAGE = 50


def line_of(source: str | list[str], line: int) -> str:
    """The text of a 1-based line of ``source`` (its lines, or the text), clipped to
    ``SOURCE_LINE_CHARS`` (empty when out of range)."""
    lines = source.splitlines() if isinstance(source, str) else source
    if not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1]
    return text if len(text) <= SOURCE_LINE_CHARS else text[:SOURCE_LINE_CHARS] + "…"
