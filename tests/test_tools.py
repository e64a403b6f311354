"""Tools are typed functions; the registry refuses what it could not expose safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import create_model

from engine import Tool, ToolDefinitionError, ToolLoadError, ToolRegistry, load_tools, tool


def test_decorated_tool_still_calls_the_function() -> None:
    @tool
    def double(x: int) -> int:
        """Twice x."""
        return 2 * x

    assert isinstance(double, Tool)
    assert double(4) == 8
    assert double.name == "double" and double.description == "Twice x."


def test_tool_with_name_and_description() -> None:
    @tool(name="lookup", description="Find a thing.")
    def _impl(key: str) -> str:
        return key

    assert (_impl.name, _impl.description) == ("lookup", "Find a thing.")


@pytest.mark.parametrize(("name", "source", "message"), [
    ("f", "def f(x) -> int: return 1", "has no type annotation"),
    ("f", "def f(x: int): return 1", "no return annotation"),
    ("print", "def print(x: int) -> int: return 1", "shadows a Python builtin"),
    ("_hidden", "def _hidden(x: int) -> int: return 1", "starts with an underscore"),
    ("f", "import socket\ndef f(s: socket.socket) -> int: return 1", "cannot expose"),
    ("f", "from collections.abc import Callable\ndef f(cb: Callable[[], int]) -> int: return 1",
     "cannot expose"),
    ("f", "def f(x: 'Undefined') -> int: return 1", "cannot resolve the type annotations"),
])
def test_bad_tool_definitions(name: str, source: str, message: str) -> None:
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    with pytest.raises(ToolDefinitionError, match=message):
        Tool(namespace[name])


def test_duplicate_names_and_clashing_models() -> None:
    @tool
    def a() -> int:
        return 1

    with pytest.raises(ToolDefinitionError, match="two tools are named 'a'"):
        ToolRegistry([a, a])

    item_a = create_model("Item", x=(int, ...))
    item_b = create_model("Item", y=(int, ...))

    def one() -> int:
        return 1

    def two() -> int:
        return 2

    one.__annotations__ = {"return": item_a}
    two.__annotations__ = {"return": item_b}
    with pytest.raises(ToolDefinitionError, match="two different types are named 'Item'"):
        ToolRegistry([one, two])


def test_load_tools_forms(tmp_path: Path) -> None:
    assert load_tools("examples.toolsets.users").names[0] == "get_all_users"
    assert load_tools("examples.toolsets.phones:TOOLS").names == (
        "list_phone_models", "list_countries", "get_phone_price", "convert_currency")
    file = tmp_path / "mytools.py"
    file.write_text(
        "from engine import tool\n"
        "@tool\ndef hello(name: str) -> str:\n    return 'hi ' + name\n"
        "def helper() -> int:\n    return 1\n"
    )
    assert load_tools(str(file)).names == ("hello",)


@pytest.mark.parametrize(("spec", "message"), [
    ("examples.toolsets.nope", "cannot import tools"),
    ("examples.toolsets.users:NOPE", "has no attribute 'NOPE'"),
    ("json", "defines no tools"),
    ("missing_file.py", "no such file"),
])
def test_load_tools_errors(spec: str, message: str) -> None:
    with pytest.raises(ToolLoadError, match=message):
        load_tools(spec)
