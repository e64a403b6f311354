"""Method calls a name-based attribute rule cannot judge alone (P125, P121).

* ``df.to_csv()`` returns the table as text; ``df.to_csv("out.csv")`` writes a file. The
  policy's ``attributes.return_only`` methods are allowed only in the first form: no
  positional argument and no destination keyword (P125).
* ``df.agg("to_pickle", path)`` calls the method its string names. The dispatching methods
  below are refused when a literal string among their arguments names a denied attribute
  (P121), an interpreter one (P120) or a private one (P122). A name computed at run time is
  out of the static stage's sight: in the sandbox pandas' own lookups refuse the same names
  (``engine.sandbox.data_guards``), and the kernel contains what a denied one could reach.
"""

from __future__ import annotations

import libcst as cst

from engine.policy.hints import denied_attribute_hint
from engine.policy.model import Policy
from engine.policy.rules import Findings, PolicyContext, Rule
from engine.policy.triggers import STRING_DISPATCH, method_call_rule_applies

#: Keywords through which pandas' text writers take a destination.
DESTINATION_KEYWORDS = frozenset({"path_or_buf", "buf", "path", "excel_writer"})


def _strings(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """String literals in an argument, also inside list, tuple, set and dict literals."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        return [node]
    found: list[cst.BaseExpression] = []
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        for element in node.elements:
            found += _strings(element.value)
    elif isinstance(node, cst.Dict):
        for item in node.elements:
            if isinstance(item, cst.DictElement):
                found += _strings(item.value)
    return found


class MethodCallRule(Rule):
    """Destinations given to return-only methods; denied methods named by a string."""

    @classmethod
    def applies(cls, policy: Policy) -> bool:
        return method_call_rule_applies(policy)

    def __init__(self, findings: Findings, ctx: PolicyContext) -> None:
        super().__init__(findings, ctx)
        self.return_only = frozenset(ctx.policy.attributes.return_only)
        self.denied = ctx.policy.denied_attributes

    def visit_Call(self, node: cst.Call) -> None:
        if not isinstance(node.func, cst.Attribute):
            return
        method = node.func.attr.value
        if method in self.return_only:
            self._destination(node, method)
        if method in STRING_DISPATCH:
            self._dispatch(node, method)

    def _destination(self, node: cst.Call, method: str) -> None:
        for arg in node.args:
            keyword = arg.keyword.value if arg.keyword is not None else None
            if keyword is None or keyword in DESTINATION_KEYWORDS:
                self.findings.add(
                    arg, "P125", f"`{method}` is allowed only without a destination: here it "
                    "would write to a file",
                    hint=f"call `{method}()` with keyword options only and use the text it "
                    "returns; there are no files here")
                return

    def _dispatch(self, node: cst.Call, method: str) -> None:
        for arg in node.args:
            for string in _strings(arg.value):
                assert isinstance(string, (cst.SimpleString, cst.ConcatenatedString))
                value = string.evaluated_value
                if not isinstance(value, str):
                    continue
                if value in self.denied:
                    self.findings.add(
                        string, "P121", f"`{method}({value!r})` calls `{value}`, which is "
                        "not allowed", hint=denied_attribute_hint(value))
                elif value.startswith("__") and value.endswith("__"):
                    self.findings.add(
                        string, "P120", f"`{method}({value!r})` calls the interpreter's "
                        f"`{value}`", hint="name an aggregation (`'sum'`, `'mean'`) or pass "
                        "a function")
                elif value.startswith("_"):
                    self.findings.add(
                        string, "P122", f"`{method}({value!r})` calls the private `{value}`",
                        hint="name a public method (`'sum'`, `'mean'`) or pass a function")


__all__ = ["DESTINATION_KEYWORDS", "STRING_DISPATCH", "MethodCallRule"]
