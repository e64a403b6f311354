"""Stage 1: a syntax error becomes one diagnostic with line, column and an actionable message."""

from __future__ import annotations

import pytest

from engine import Stage
from engine.parsing import ParsedSnippet, parse

SYNTAX_ERRORS = [
    ("for u in users\n    print(u)\n", 1, 15, "expected ':'"),
    ("x = (1,\n", 1, 5, "was never closed"),
    ("print 'hello'\n", 1, 1, "Missing parentheses"),
    ("x = 1\n  y = 2\n", 2, 2, "unexpected indent"),
    ("def f(:\n    pass\n", 1, 7, "invalid syntax"),
    ("return 5\n", 1, 1, "'return' outside function"),
    ("for x in []:\n    pass\nbreak\n", 3, 1, "'break' outside loop"),
    ("f'{x'\n", 1, 6, "f-string"),
    ("x = '\0'\n\0", 1, 1, "null"),
]


@pytest.mark.parametrize(("source", "line", "column", "words"), SYNTAX_ERRORS)
def test_syntax_error_is_one_located_diagnostic(
    source: str, line: int, column: int, words: str
) -> None:
    found = parse(source)
    assert not isinstance(found, ParsedSnippet)
    assert found.stage is Stage.PARSE and found.code == "S001"
    assert (found.line, found.column) == (line, column), found
    assert words.lower() in found.message.lower()
    assert found.hint
    assert found.end_column is None or found.end_column >= 1


def test_empty_and_comment_only_snippets_parse() -> None:
    assert isinstance(parse(""), ParsedSnippet)
    assert isinstance(parse("# nothing\n"), ParsedSnippet)


def test_module_bindings_and_functions() -> None:
    parsed = parse(
        "import math\nb = 1\na = 2\nfor i in range(3):\n    c = i\ndef f(x):\n    y = x\n"
    )
    assert isinstance(parsed, ParsedSnippet)
    assert parsed.module_bindings == ("a", "b", "c", "f", "i", "math")
    assert parsed.module_declarations == frozenset({"f"})
    declared = parse("x: int = 1\nif x:\n    y: str = 'a'\nclass K:\n    z: int = 1\n"
                     "def g():\n    w: int = 2\n")
    assert isinstance(declared, ParsedSnippet)
    assert declared.module_declarations == frozenset({"x", "y", "K", "g"})


def test_pathological_nesting_is_a_diagnostic_not_a_crash() -> None:
    found = parse("x = " + "(" * 5000 + ")" * 5000)
    assert not isinstance(found, ParsedSnippet)
    assert found.code == "S001"


@pytest.mark.parametrize("source", [
    "x = " + "[" * 3000 + "]" * 3000,
    "x = " + "not " * 3000 + "1",
    "x = a" + ".b" * 6000,
    "x = " + "-" * 20000 + "1",
])
def test_nesting_that_crashes_native_parsers_is_refused_first(source: str) -> None:
    # LibCST's native parser overflows its stack (a segfault) on some of these; the process
    # running this test surviving is half of the assertion.
    found = parse(source)
    assert not isinstance(found, ParsedSnippet)
    assert found.code == "S001"
