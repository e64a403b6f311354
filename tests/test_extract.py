"""Code extraction tolerates what real models emit."""

from __future__ import annotations

import pytest

from engine.agent.extract import extract_code

CASES = [
    # (reply, expected code, expected final text, expected codes)
    ("Let me count.\n```python\nprint(1)\n```\nDone.", "print(1)\n", None, []),
    ("```\nx = 1\n```\nthen\n```py\nprint(x)\n```", "x = 1\n", None, ["X104"]),
    ("~~~python\nprint(3)\n~~~", "print(3)\n", None, []),
    ("```bash\nls -la\n```\n```python\nprint(2)\n```", "print(2)\n", None, []),
    ("users = get_all_users()\nprint(len(users))",
     "users = get_all_users()\nprint(len(users))\n", None, []),
    (">>> x = 1\n>>> print(x)", "x = 1\nprint(x)\n", None, []),
    ("```python\nprint(1)\nx = 2", "print(1)\nx = 2\n", None, ["X102"]),
    ("```tool_code\nprint(get_all_users())\n```", "print(get_all_users())\n", None, []),
    ("I will now finish.\nfinal_answer(42)", "final_answer(42)\n", None, []),
    ("Final answer: 42", None, "42", []),
    ("**Final Answer:** `7031`", None, "7031", []),
    ("The answer is probably forty-two.", None, None, ["X101"]),
    ("42", None, None, ["X101"]),
    ("", None, None, ["X101"]),
    ("```json\n{\"a\": 1}\n```", None, None, ["X101"]),
]


@pytest.mark.parametrize(("reply", "code", "final", "codes"), CASES)
def test_extraction(reply: str, code: str | None, final: str | None, codes: list[str]) -> None:
    found = extract_code(reply)
    assert found.code == code
    assert found.final_text == final
    assert [d.code for d in found.diagnostics] == codes
