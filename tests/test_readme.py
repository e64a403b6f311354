"""The README's promises hold: its Python example runs and says what the README says."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_first_code_block_is_two_commands() -> None:
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block is not None
    lines = block.group(1).strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("pip install -e . && codeact run ")
    assert lines[1] == "pip install -e '.[test]' && pytest"


def test_python_example_runs_as_documented() -> None:
    block = re.search(r"```python\n(.*?)```", README, re.S)
    assert block is not None
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(block.group(1), "README.md", "exec", dont_inherit=True), namespace)
    report = namespace["report"]
    assert report.ok is False  # type: ignore[attr-defined]
    first = report.diagnostics[0]  # type: ignore[attr-defined]
    assert (first.code, first.rule, first.line, first.column) == ("T101", "arg-type", 2, 16)
    namespace["engine"].close()  # type: ignore[attr-defined]
