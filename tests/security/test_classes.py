"""Classes across snippets: what one snippet's classes and calls leave for the next.

Found by the red-team session on issue 20: a stdlib cache poisoned by a lying ``__eq__``,
shared classes changed by decorators called as functions, imported module classes taken
for the session's own classes, typing names lost between snippets.
"""

from __future__ import annotations

import pytest

from engine import Engine
from engine.sandbox.limits import unavailable_reason
from tests.conftest import codes_of

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason="seccomp unavailable")


@pytest.fixture(scope="module")
def engine() -> Engine:
    with Engine((), "default") as made:
        yield made  # type: ignore[misc]


def test_a_lying_flag_does_not_poison_the_next_snippets_regex_cache(engine: Engine) -> None:
    with engine.session() as session:
        poison = session.run(
            "import enum\nimport re\nimport typing\nclass F(enum.IntFlag):\n    X = 2\n"
            "    def __eq__(self, other: typing.Any) -> bool:\n        return True\n"
            "    def __hash__(self) -> int:\n        return 0\n"
            "re.compile('secret', F.X)\n")
        assert poison.ok, poison.diagnostics
        later = session.run("import re\nfinal_answer(re.match('secret', 'SECRET') is None)")
        assert later.value is True  # not the IGNORECASE pattern cached by the lie


def test_class_decorators_called_on_shared_classes_are_refused(engine: Engine) -> None:
    with engine.session() as session:
        for call in ("dataclasses.dataclass(json.JSONDecoder)",
                     "dataclasses.dataclass(order=True)(json.JSONDecoder)",
                     "functools.total_ordering(json.JSONDecoder)"):
            result = session.run(f"import dataclasses, functools, json\n{call}")
            assert codes_of(result) == ["R101"] and "only to classes the snippet defines" \
                in result.diagnostics[0].message
        after = session.run("import json\n"
                            "final_answer(json.JSONDecoder() == json.JSONDecoder())")
        assert after.value is False  # still compared by identity
        own = session.run("import dataclasses\n@dataclasses.dataclass(frozen=True)\n"
                          "class P:\n    x: int\nfinal_answer(P(1) == P(1))")
        assert own.value is True


def test_an_imported_class_is_not_the_sessions_own(engine: Engine) -> None:
    with engine.session() as session:
        assert session.run("from json import JSONDecoder\nfrom enum import Enum\n"
                           "from string import Template\n"
                           "from collections import OrderedDict").ok
        for base in ("JSONDecoder", "Template", "OrderedDict"):
            assert codes_of(session.check(f"class D({base}):\n    pass")) == ["P132"]
        # ...but an allowed base imported earlier stays allowed.
        assert session.run("class Color(Enum):\n    RED = 1\nprint(Color.RED.name)").ok


def test_typing_names_carry_to_later_snippets(engine: Engine) -> None:
    with engine.session() as session:
        assert session.run("from typing import Any, Optional\nfrom dataclasses import dataclass"
                           ).ok
        later = session.run("x: Optional[int] = None\ny: Any = 3\n@dataclass\nclass D:\n"
                            "    a: int\nfinal_answer([x, y, D(2).a])")
        assert later.ok and later.value == [None, 3, 2], later.diagnostics
        wrong = session.run("@dataclass\nclass E:\n    a: int\nE('x', 2)")
        assert codes_of(wrong)[:1] == ["T101"] or "T102" in codes_of(wrong)
