"""The command line's settings from the project: ``[tool.codeact]`` in ``pyproject.toml``.

Like ruff and mypy, ``codeact`` looks for the nearest ``pyproject.toml`` from the current
directory upwards that has a ``[tool.codeact]`` table::

    [tool.codeact]
    tools = "mytools.py"          # a module, module:ATTR, or a .py file
    policy = "policies/team.toml" # a bundled policy name or a .toml file
    format = "json"               # check and run: text, json (check also: sarif)

Paths are relative to the ``pyproject.toml``; a module is imported with the project's
directory on ``sys.path``. The environment (``CODEACT_TOOLS``, ``CODEACT_POLICY``) wins over
the file, and a flag wins over both.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from engine.errors import EngineError


class ConfigError(EngineError):
    """A ``[tool.codeact]`` table that cannot be used; the message names file and key."""


class Settings(BaseModel):
    """The ``[tool.codeact]`` table, validated strictly (a typo is an error, not ignored)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    tools: str | None = None
    policy: str | None = None
    format: Literal["text", "json", "sarif"] | None = None


@dataclass(frozen=True)
class ProjectConfig:
    settings: Settings = field(default_factory=Settings)
    #: The pyproject.toml the settings came from (None: no file has a [tool.codeact]).
    path: Path | None = None

    def tools(self) -> str | None:
        return self._resolve(self.settings.tools, ".py")

    def policy(self) -> str | None:
        return self._resolve(self.settings.policy, ".toml")

    def _resolve(self, value: str | None, suffix: str) -> str | None:
        """A file setting made relative to the project; a module or bundled name as it is."""
        if value is None or self.path is None:
            return value
        target, colon, attr = value.partition(":")
        if target.endswith(suffix) or "/" in target:
            return str(self.path.parent / target) + colon + attr
        return value


def find_config(start: Path | None = None) -> ProjectConfig:
    """The settings of the nearest ``pyproject.toml`` with ``[tool.codeact]``, or none."""
    directory = (start or Path.cwd()).resolve()
    for folder in (directory, *directory.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            table = _codeact_table(candidate)
            if table is not None:
                return _validated(table, candidate)
    return ProjectConfig()


def _codeact_table(path: Path) -> dict[str, object] | None:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    tool = data.get("tool")
    table = tool.get("codeact") if isinstance(tool, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.codeact] must be a table")
    return table


def _validated(table: dict[str, object], path: Path) -> ProjectConfig:
    try:
        return ProjectConfig(Settings.model_validate(table), path)
    except ValidationError as exc:
        problems = "; ".join(
            f"tool.codeact.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False))
        raise ConfigError(f"{path}: {problems}") from None


__all__ = ["ConfigError", "ProjectConfig", "Settings", "find_config"]
