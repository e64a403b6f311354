"""The corpus as data: loading and validating `tests/security/corpus/*.toml`."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"

Category = Literal["dunder", "builtins", "frames", "format", "unicode", "imports", "exceptions",
                   "classes", "broker", "resources", "checker", "integrity", "rlimits", "parent",
                   "data"]
PLACEHOLDERS = ("{SECRET_FILE}", "{CANARY_DIR}", "{CANARY_PORT}", "{PARENT_PID}", "{SECRET_ENV}")
KILL_CODES = frozenset({"R201", "R203", "R207", "R208", "R211"})


class Attack(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    category: Category
    title: str
    technique: str
    source: str
    expect_stage: Literal["parse", "policy", "types", "runtime"]
    expect_codes: tuple[str, ...] = ()
    sandbox: Literal["error", "killed", "harmless"]
    sandbox_codes: tuple[str, ...] = ()
    #: the corpus policy it runs under: policy.toml (default) or policy_data.toml (numpy, pandas)
    policy: Literal["default", "data"] = "default"
    file: str = ""

    @model_validator(mode="after")
    def _codes_for_blocks(self) -> Attack:
        if self.expect_stage != "runtime" and not self.expect_codes:
            raise ValueError("an attack blocked by a static stage must name its codes")
        return self

    def render(self, values: dict[str, str]) -> str:
        source = self.source
        for placeholder in PLACEHOLDERS:
            source = source.replace(placeholder, values[placeholder])
        return source


def load_corpus(directory: Path = CORPUS_DIR) -> list[Attack]:
    attacks: list[Attack] = []
    problems: list[str] = []
    for path in sorted(directory.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        for index, raw in enumerate(data.get("attack", [])):
            try:
                attacks.append(Attack.model_validate({**raw, "file": path.name}))
            except ValidationError as exc:
                problems.append(f"{path.name} attack #{index + 1}: {exc}")
    if problems:
        raise ValueError("invalid corpus:\n" + "\n".join(problems))
    seen: set[str] = set()
    duplicates = [a.id for a in attacks if a.id in seen or seen.add(a.id)]  # type: ignore[func-returns-value]
    if duplicates:
        raise ValueError(f"duplicate attack ids: {duplicates}")
    return attacks
