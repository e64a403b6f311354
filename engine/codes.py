"""The catalog of diagnostic codes: every code any stage can emit, with its explanation.

Codes are stable: a code is never reused for a different meaning. ``codeact explain CODE``
and ``docs/diagnostics.md`` are generated from this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from engine.diagnostics import Diagnostic, Severity, Stage, line_of

#: Every code of the catalog below, so that mypy refuses a code that does not exist
#: (``tests/test_catalog.py`` keeps the two in step).
CodeName = Literal[
    "S001", "P100", "P101", "P102", "P103", "P104", "P110", "P111", "P112", "P113", "P120",
    "P121", "P122", "P123", "P124", "P125", "P130", "P131", "P132", "P133", "P134", "P135", "P136",
    "P137", "P140", "P141", "P160", "P161", "P150", "P151", "P152", "P190", "P153", "T101",
    "T102", "T103", "T104", "T105", "T106", "T107", "T108", "T109", "T110", "T111", "T112",
    "T113", "T114", "T115", "T116", "T117", "T118", "T119", "T120", "T130", "T190", "T197",
    "T198", "T199", "R101", "R102", "R103", "R104", "R201", "R202", "R203", "R204", "R205",
    "R206", "R207", "R208", "R209", "R210", "R211", "R212", "R213", "R214", "R215", "R216",
    "R217", "R218", "X101", "X102", "X103", "X104",
]


@dataclass(frozen=True)
class Code:
    code: CodeName
    rule: str
    stage: Stage
    title: str
    explanation: str
    hint: str | None = None
    example: str | None = None
    #: the bundled policy the example is refused under
    example_policy: str = "default"
    #: a snippet's own process may report it (the parent gives every other runtime code)
    reportable: bool = False


_CATALOG: tuple[Code, ...] = (
    # -- parse -------------------------------------------------------------------------
    Code(
        "S001", "syntax-error", Stage.PARSE,
        "The snippet is not valid Python",
        "The snippet could not be parsed as Python 3. Nothing else was checked: fix the syntax "
        "first. The location points at the first token the parser could not accept.",
        hint="Fix the syntax at this position; the snippet must be plain Python 3 code.",
        example="for u in users\n    print(u)   # missing ':'",
    ),
    # -- policy ------------------------------------------------------------------------
    Code(
        "P100", "source-too-large", Stage.POLICY,
        "The snippet is larger than the policy allows",
        "The policy's `limits.max_source_bytes` bounds the size of a snippet. Large snippets "
        "are refused before they are parsed, so that checking stays cheap.",
        hint="Write a shorter snippet; move data into tool calls instead of literals.",
    ),
    Code(
        "P101", "import-not-allowed", Stage.POLICY,
        "Import of a module the policy does not allow",
        "Only modules on the policy's `imports` allow-list can be imported. Everything else "
        "(files, network, processes, interpreter internals) is out of reach by design.",
        hint='Use only the modules the policy allows, or the tools.',
        example="import os",
    ),
    Code(
        "P102", "submodule-not-allowed", Stage.POLICY,
        "Reaching a submodule the policy does not allow",
        "A module on the allow-list does not open its submodules: each submodule must be "
        "listed itself. This covers `import a.b`, `from a import b` and the attribute `a.b` "
        "when `b` is a module.",
        hint='Use only the listed modules; submodules need their own allowance.',
        example="import json\njson.decoder",
    ),
    Code(
        "P103", "relative-import", Stage.POLICY,
        "Relative import",
        "A snippet is not part of a package, so relative imports have no meaning.",
        hint='Import modules by their absolute name.',
        example="from . import x",
    ),
    Code(
        "P104", "private-import", Stage.POLICY,
        "Import of a private name",
        "Names that start with an underscore are a module's internals; they are not part of "
        "what the policy allows.",
        hint='Use the public names of the module.',
        example="from json import _default_decoder",
    ),
    Code(
        "P110", "name-not-allowed", Stage.POLICY,
        "Use of a name that is not available",
        "A snippet may read only: the builtins the policy allows, the tools and their models, "
        "the engine's helpers (`final_answer`), modules it imported, names it binds itself and "
        "names bound by earlier snippets of the same session.",
        hint='Use the tools, the allowed builtins and names you bind yourself.',
        example="data = open('report.txt').read()",
    ),
    Code(
        "P111", "dunder-name", Stage.POLICY,
        "Use of a double-underscore name",
        "Names such as `__builtins__`, `__import__` or `__loader__` reach interpreter internals "
        "and may be neither read nor bound.",
        hint='Double-underscore names are reserved for the interpreter; use another name.',
        example="__builtins__",
    ),
    Code(
        "P112", "identifier-not-normalized", Stage.POLICY,
        "Identifier written with look-alike characters",
        "Python reads identifiers in Unicode NFKC form, so `ｏｐｅｎ` (full-width letters) is "
        "the builtin `open`. Identifiers must be written in their normal form so that what the "
        "policy checks is what Python runs.",
        hint='Write identifiers with plain characters.',
        example="ｏｐｅｎ('secret.txt')",
    ),
    Code(
        "P113", "protected-name", Stage.POLICY,
        "Rebinding or deleting a tool, a tool's type, `final_answer` or `print`",
        "Names a snippet binds at module level stay for the later snippets of its session. The "
        "tools, their types, `final_answer` and `print` must mean the same in every snippet: "
        "the parent must see every tool call, and the engine must see answers and output.",
        hint="Choose another name for your own value or function.",
        example="def print(*args):\n    pass",
    ),
    Code(
        "P120", "dunder-attribute", Stage.POLICY,
        "Access to a double-underscore attribute",
        "Attributes such as `__class__`, `__globals__` or `__subclasses__` are the classic path "
        "out of a restricted interpreter. All of them are denied unless the policy lists one "
        "in `attributes.allow_dunder`.",
        hint="Use the object's public fields and methods.",
        example="().__class__.__base__.__subclasses__()",
    ),
    Code(
        "P121", "attribute-denied", Stage.POLICY,
        "Access to an interpreter-internal attribute",
        "Frame, code, generator, coroutine and traceback internals (`gi_frame`, `f_globals`, "
        "`tb_frame`, `cr_frame`, `mro`, ...) are on the policy's `attributes.deny` list, with "
        "whatever else a policy denies by name (the data policy: pandas' and numpy's file "
        "readers and writers, `eval`, `query`). A dispatching method that names a denied one "
        "in a string (`df.agg('to_pickle')`) is refused the same way.",
        hint='Frame, code and generator internals are out of reach; use the values directly.',
        example="g = (x for x in []); g.gi_frame",
    ),
    Code(
        "P122", "private-attribute", Stage.POLICY,
        "Access to a private attribute",
        "Attributes that start with an underscore are internals. The policy denies them unless "
        "`attributes.allow_private` is true, except a class's own state: `self._name` (and "
        "`cls._name`) inside the methods of the class, when `self` is the method's first "
        "parameter and is never reassigned.",
        hint='Use the public fields and methods (no leading underscore).',
        example="import re; re._compiler",
    ),
    Code(
        "P123", "module-attribute-write", Stage.POLICY,
        "Assignment to or deletion of a module attribute",
        "Modules are shared configuration; a snippet may read their attributes but not change "
        "them.",
        hint='Store the value in a variable of your own instead.',
        example="import math; math.pi = 3",
    ),
    Code(
        "P124", "shared-attribute-write", Stage.POLICY,
        "Writing an attribute of a module, class, builtin or tool",
        "A snippet may set or delete attributes only on its own objects. Writes through a "
        "module (`json.JSONDecoder.decode = ...`), a builtin, a tool or a tool's model would "
        "change code shared with the rest of the process. Attributes are also never targets of "
        "`for` loops, comprehensions or `with ... as`.",
        hint="Keep the value in a variable or a dict of your own instead.",
        example="import json\njson.JSONDecoder.decode = print",
    ),
    Code(
        "P125", "destination-argument", Stage.POLICY,
        "A return-only method given a destination",
        "Methods on the policy's `attributes.return_only` list (the data policy: pandas' "
        "`to_csv`, `to_json`, `to_string`, ...) return their text when called without a "
        "destination and write to a file when given one. They are allowed only without "
        "positional arguments and without a `path_or_buf`, `buf` or `path` keyword.",
        hint="Call it with keyword options only and use the text it returns.",
        example="import pandas as pd; pd.DataFrame().to_csv('out.csv')",
        example_policy="data",
    ),
    Code(
        "P130", "syntax-not-allowed", Stage.POLICY,
        "Use of a construct the policy forbids",
        "The policy's `syntax.forbid` list names constructs a snippet may not use, such as "
        "`global`, `nonlocal`, class definitions, `async`, `yield` or star imports.",
        hint='Write the code with the constructs the policy allows.',
        example="global counter",
    ),
    Code(
        "P131", "class-keyword", Stage.POLICY,
        "A class statement with keywords",
        "`metaclass=...` and other class keywords change how a class is made; a snippet's "
        "classes are made the ordinary way.",
        hint="Remove the keyword: `class Name(Base):`.",
        example="class Meta(type): pass\nclass Foo(metaclass=Meta): pass",
    ),
    Code(
        "P132", "class-base", Stage.POLICY,
        "A class that extends something other than the snippet's own classes",
        "A snippet's class may extend its own classes (this snippet's or the session's), the "
        "allowed exception classes, `enum.Enum`/`IntEnum`/`StrEnum`/`Flag`/`IntFlag`, "
        "`typing.NamedTuple` or `typing.TypedDict`; not builtins, module classes or the "
        "tools' models, whose machinery other code of the process relies on.",
        hint="Extend one of your own classes, an exception or an enum, or hold the other "
        "object in an attribute instead.",
        example="class Loud(str): pass",
    ),
    Code(
        "P133", "class-hook", Stage.POLICY,
        "A special method the policy does not allow in a class",
        "Classes may define the ordinary special methods (`__init__`, `__repr__`, `__eq__`, "
        "`__iter__`, `__enter__`/`__exit__`, operators...). Hooks that run at times the "
        "snippet does not choose or change how attributes and classes work (`__del__`, "
        "`__getattr__`, `__getattribute__`, `__setattr__`, `__init_subclass__`, `__new__`, "
        "descriptors, pickling hooks, `__slots__`) are refused.",
        hint="Use an ordinary method, or one of the allowed special methods.",
        example="class Ghost:\n    def __getattr__(self, name): return 1",
    ),
    Code(
        "P134", "super-arguments", Stage.POLICY,
        "`super()` called with arguments",
        "Inside a method, `super()` without arguments reaches the parent class; with "
        "arguments it can bind any object to any class.",
        hint="Call `super()` without arguments, inside the method.",
        example="class A:\n    def f(self): return super(A, self)",
    ),
    Code(
        "P135", "enum-functional-names", Stage.POLICY,
        "An enum made by a call whose member names are not a plain literal",
        "`Enum('Color', 'RED GREEN')` makes an enum from names; names computed at run time "
        "could define special methods on it. The names must be a string literal without "
        "double underscores.",
        hint="Write the names as one string literal, or use a `class Color(Enum):` statement.",
        example="import enum\nnames = [('RED', 1)]\nColor = enum.Enum('Color', names)",
    ),
    Code(
        "P136", "private-method-misused",
        Stage.POLICY,
        "A method that uses `self`'s private attributes is used inside its class body",
        "Inside the class body a method is still a plain function, which could be given any "
        "object as `self`. Methods that use private attributes are called on the class's "
        "objects, after the class statement (`@name.setter` of a property is fine).",
        hint="Call the method on an object of the class, after the class statement.",
        example="class A:\n    def f(self):\n        return self._x\n    g = f",
    ),
    Code(
        "P137", "type-call", Stage.POLICY,
        "`type()` called with other than one argument",
        "`type(x)` gives the class of a value. With three arguments `type` makes a class from "
        "a dict of any methods, outside the rules for classes; in the sandbox `type` takes "
        "one argument and answers only with classes the snippet could name anyway.",
        hint="Call `type(x)` with one value; write a `class` statement to make a class.",
        example="Point = type('Point', (), {'x': 0})",
    ),
    Code(
        "P140", "format-traversal", Stage.POLICY,
        "Attribute or index traversal inside a format string",
        "`str.format` and `str.format_map` evaluate `{0.attr}` and `{0[key]}` fields, which "
        "reach attributes that the rest of the policy denies.",
        hint="Use an f-string, whose expressions are checked like any other code.",
        example="'{0.__class__}'.format(x)",
    ),
    Code(
        "P141", "format-not-literal", Stage.POLICY,
        "`format` or `format_map` on a template that is not a literal",
        "The template of `.format(...)` must be a string literal so that its fields can be "
        "checked.",
        hint="Use an f-string, or call `.format` directly on a string literal.",
        example="template = '{0}'; template.format(x)",
    ),
    Code(
        "P160", "tool-not-permitted", Stage.POLICY,
        "A call of a tool the policy does not permit",
        "The toolset has the tool, but the policy's `[tools]` section does not permit it: it "
        "is not in the stubs, the prompt or the sandbox.",
        hint="Use only the tools listed in the tool stubs.",
        example=None,
    ),
    Code(
        "P161", "tool-argument-refused", Stage.POLICY,
        "A literal tool argument the policy does not allow",
        "The policy's `[tools.arguments]` rules say what an argument may be; this one is a "
        "literal, so the static stage can see that it breaks the rule (the broker checks "
        "every call again before the tool runs, R217).",
        hint="Pass a value the rule in the message allows.",
        example=None,
    ),
    Code(
        "P150", "too-many-nodes", Stage.POLICY,
        "The snippet has more syntax nodes than the policy allows",
        "The policy's `limits.max_nodes` bounds the size of the syntax tree (CPython's `ast`, "
        "counted before any costly analysis), so that checking stays cheap.",
        hint="Write a shorter snippet.",
    ),
    Code(
        "P151", "nesting-too-deep", Stage.POLICY,
        "The snippet nests deeper than the policy allows",
        "The policy's `limits.max_depth` bounds how deeply expressions and blocks nest (in "
        "CPython's `ast`, counted before any costly analysis).",
        hint="Flatten the code: use intermediate variables or helper functions.",
    ),
    Code(
        "P152", "literal-too-large", Stage.POLICY,
        "A constant expression would build a value larger than the policy allows",
        "Constant expressions such as `10**10**10`, `'a' * 10**9` or `[0] * 10**9` are sized "
        "statically. The policy's `limits.max_literal_bytes` bounds them.",
        hint="Build large values from tool results instead of constants, or use smaller sizes.",
        example="x = 'a' * 10**9",
    ),
    Code(
        "P190", "more-policy-findings", Stage.POLICY,
        "More policy problems than are shown",
        "A report shows at most 50 findings of a stage, so that it stays small whatever the "
        "snippet; this note says how many more there are.",
        hint="Fix the problems shown, then check again.",
    ),
    Code(
        "P153", "policy-too-costly", Stage.POLICY,
        "The snippet is too costly to check",
        "Every snippet is checked under the policy's `limits.check_seconds` budget, in a worker "
        "process that is stopped when the budget runs out, so that no snippet can make the "
        "engine (or other sessions) wait. Parsing and the policy rules ran out of budget on "
        "this one: it is refused without being run.",
        hint="Too costly to check: write a shorter, flatter snippet (fewer, simpler "
             "statements; large data belongs in tool results, not in the code).",
    ),
    # -- types (mypy) ------------------------------------------------------------------
    Code(
        "T101", "arg-type", Stage.TYPES,
        "Argument of the wrong type",
        "A function or tool was called with an argument whose type does not match its "
        "signature.",
        hint="Pass a value of the type shown in the signature (convert it, or pick the right "
        "field of the model).",
        example="import math\nprint(math.sqrt('4'))",
    ),
    Code(
        "T102", "call-arg", Stage.TYPES,
        "Wrong number or names of arguments",
        "A call has too many or too few arguments, or a keyword the function does not accept.",
        hint="Call it exactly as its signature in the tool stubs says.",
    ),
    Code(
        "T103", "attr-defined", Stage.TYPES,
        "Attribute that does not exist",
        "The value has no attribute of that name. For a tool's return value, the fields of its "
        "model are listed in the tool stubs.",
        hint="Use an attribute the value has: for a tool's result, a field of its model as "
        "declared in the tool stubs; for your own class, one set in `__init__`.",
    ),
    Code(
        "T104", "name-defined", Stage.TYPES,
        "Name that is not defined",
        "The name is not bound at this point.",
        hint="Bind the name before using it, or check its spelling.",
    ),
    Code(
        "T105", "union-attr", Stage.TYPES,
        "Attribute of a value that may be None or another type",
        "The value's type is a union (often `X | None`) and not every member has the attribute.",
        hint="Check for None first (`if x is not None:`) before using the attribute.",
    ),
    Code(
        "T106", "index", Stage.TYPES,
        "Invalid index or key",
        "The value cannot be indexed that way, or the key has the wrong type.",
        hint="Index with a value of the right type (an int for a list, a key for a dict).",
    ),
    Code(
        "T107", "operator", Stage.TYPES,
        "Unsupported operand types",
        "The operator is not defined for these operand types.",
        hint="Convert the operands to compatible types first.",
    ),
    Code(
        "T108", "assignment", Stage.TYPES,
        "Incompatible types in assignment",
        "The value assigned does not match the declared type of the target.",
        hint='Assign a value of the declared type, or use a new variable name for the new value.',
    ),
    Code(
        "T109", "return-value", Stage.TYPES,
        "Incompatible return value",
        "A function returns a value that does not match its declared return type.",
        hint='Return a value of the declared return type, or change the annotation.',
    ),
    Code(
        "T110", "call-overload", Stage.TYPES,
        "No overload matches the call",
        "None of the overloaded signatures of the function accept these arguments.",
        hint='Check the accepted argument types of the function and convert the arguments.',
    ),
    Code(
        "T111", "var-annotated", Stage.TYPES,
        "The type of a variable cannot be inferred",
        "An empty container was created without saying what it will hold. The engine does not "
        "report this by default (snippets are scripts; mypy assumes Any for the items); the "
        "code exists for checkers configured to report it.",
        hint="Annotate it, e.g. `names: list[str] = []`.",
    ),
    Code(
        "T112", "func-returns-value", Stage.TYPES,
        "Use of the result of a function that returns None",
        "The function does not return a value, so its result cannot be used.",
        hint='Call the function for its effect and do not use its result.',
    ),
    Code(
        "T113", "list-item", Stage.TYPES,
        "List item of the wrong type",
        "An item of a list literal does not match the list's declared item type.",
        hint='Make every item of the list the declared type.',
    ),
    Code(
        "T114", "dict-item", Stage.TYPES,
        "Dict entry of the wrong type",
        "A key or value of a dict literal does not match the dict's declared type.",
        hint='Make every key and value of the dict the declared types.',
    ),
    Code(
        "T115", "return", Stage.TYPES,
        "Missing return statement",
        "A function with a declared return type can end without returning a value.",
        hint='Return a value on every path, or declare the return type as `X | None`.',
    ),
    Code(
        "T116", "used-before-def", Stage.TYPES,
        "Name used before it is defined",
        "The name is read before the statement that binds it.",
        hint="Move the assignment above the first use.",
    ),
    Code(
        "T117", "valid-type", Stage.TYPES,
        "Invalid type annotation",
        "An annotation is not a valid type.",
        hint='Use a class or a builtin generic such as `list[int]` as the annotation.',
    ),
    Code(
        "T118", "no-redef", Stage.TYPES,
        "Name defined twice",
        "A function or class with this name is already defined.",
        hint="Rename one of the definitions.",
    ),
    Code(
        "T119", "misc", Stage.TYPES,
        "Other type error",
        "mypy reported an error without a more specific code.",
        hint='Read the message: it says what mypy found; simplify the expression if unsure.',
    ),
    Code(
        "T120", "str-format", Stage.TYPES,
        "Invalid string formatting",
        "The format string does not match its arguments.",
        hint='Match the placeholders of the format string with its arguments, or use an f-string.',
    ),
    Code(
        "T130", "shared-attribute-write", Stage.TYPES,
        "Writing an attribute of an object that is not the snippet's own",
        "A snippet may set or delete attributes only on its own objects: the tools' results "
        "and instances of classes it defines. Classes, modules, functions and values of unknown "
        "type are shared with the rest of the process (the standard library's classes, the "
        "tools' models), so writing to them is refused wherever the object comes from: an "
        "alias, a parameter, a loop variable.",
        hint="Keep the value in a variable or a dict of your own instead of setting it on a "
             "shared object; to configure an object, pass the value to its constructor.",
        example="import json\nfor cls in [json.JSONDecoder]:\n    cls.decode = print",
    ),
    Code(
        "T190", "more-type-findings", Stage.TYPES,
        "More type errors than are shown",
        "A report shows at most 50 findings of a stage, so that it stays small whatever the "
        "snippet; this note says how many more there are.",
        hint="Fix the errors shown, then check again.",
    ),
    Code(
        "T197", "types-too-costly", Stage.TYPES,
        "The snippet is too costly to type-check",
        "Every snippet is checked under the policy's `limits.check_seconds` budget, in a worker "
        "process that is stopped when the budget runs out. Type inference over deeply nested "
        "generic calls (`map`, `zip`, `min`, lambdas inside each other) can grow very fast; "
        "this snippet ran out of budget in the type stage and is refused without being run.",
        hint="Too costly to check: simplify the expression. Split nested calls into separate "
             "statements that name their intermediate results, and prefer plain loops or "
             "comprehensions to nested map/zip/lambda.",
    ),
    Code(
        "T198", "checker-failed", Stage.TYPES,
        "The type checker failed",
        "mypy raised an internal error on this snippet. The snippet is refused, because it could "
        "not be checked; the checker restarts for the next snippet.",
        hint="Simplify the snippet; if it is plain code, report the snippet as an engine bug.",
    ),
    Code(
        "T199", "type-error", Stage.TYPES,
        "Type error",
        "mypy reported an error whose code is not listed separately; the diagnostic's `rule` "
        "keeps mypy's own error code.",
        hint='Read the message and fix the types it names.',
    ),
)

_RUNTIME: tuple[Code, ...] = (
    Code(
        "R101", "runtime-error", Stage.RUNTIME,
        "The snippet raised an exception",
        "The snippet ran and raised an exception that it did not handle. Names it bound are "
        "rolled back to what they were before it ran; objects it changed in place stay changed.",
        hint="Read the exception and the line it points at, fix the code, and run it again.",
        example="counts = {'US': 1}\nprint(counts['IL'])",
        reportable=True,
    ),
    Code(
        "R102", "tool-error", Stage.RUNTIME,
        "A tool failed",
        "A tool raised an exception on the trusted side. Its type and message are passed back; "
        "the host's traceback is not.",
        hint="Check the arguments against the tool's docstring; catch the error if a failure "
        "is expected.",
        reportable=True,
    ),
    Code(
        "R103", "tool-arguments", Stage.RUNTIME,
        "A tool was called with arguments that do not match its signature",
        "Tool arguments are validated against the tool's signature before the tool runs.",
        hint="Call the tool exactly as its signature in the tool stubs says.",
        reportable=True,
    ),
    Code(
        "R104", "tool-result-invalid", Stage.RUNTIME,
        "A tool returned a value that does not match its own declared type",
        "The trusted side validates every tool result against the return type the tool "
        "declares. This one did not match (the message names the field): a bug in the tool, "
        "not in the snippet that called it.",
        hint="Not a problem in your code: the tool's author must make it return what it "
        "declares. Use another tool or report the failure in your answer.",
        reportable=True,
    ),
    Code(
        "R201", "timeout", Stage.RUNTIME,
        "The snippet ran longer than the policy allows",
        "The policy's `limits.timeout_seconds` bounds the wall time of a snippet, tool calls "
        "included. The process was killed.",
        hint="Do less work per snippet: avoid unbounded loops, and split long jobs.",
    ),
    Code(
        "R202", "memory-limit", Stage.RUNTIME,
        "The snippet ran out of memory",
        "The policy's `limits.memory_mb` bounds the memory a session may add.",
        hint="Process data in smaller pieces and keep only what you need.",
        reportable=True,
    ),
    Code(
        "R203", "cpu-limit", Stage.RUNTIME,
        "The snippet used more CPU time than the policy allows",
        "The policy's `limits.cpu_seconds` bounds the CPU time of a snippet. The kernel stopped "
        "the process.",
        hint="Use a cheaper algorithm, or do less work per snippet.",
    ),
    Code(
        "R204", "output-flood", Stage.RUNTIME,
        "The snippet printed far too much",
        "Output beyond `limits.max_output_bytes` is dropped; past `limits.output_flood_bytes` "
        "the snippet is stopped.",
        hint="Print summaries (counts, the first few items), not whole data sets.",
        reportable=True,
    ),
    Code(
        "R205", "tool-call-limit", Stage.RUNTIME,
        "The snippet made too many tool calls",
        "The policy's `limits.max_tool_calls` bounds the tool calls of one snippet.",
        hint="Use tools that return many items at once, and call per-item tools only when needed.",
        reportable=True,
    ),
    Code(
        "R206", "tool-payload-too-large", Stage.RUNTIME,
        "A tool call's arguments or result are larger than the policy allows",
        "`limits.max_tool_argument_bytes` and `limits.max_tool_result_bytes` bound what crosses "
        "the sandbox boundary in one call.",
        hint="Pass and request smaller pieces of data.",
        reportable=True,
    ),
    Code(
        "R207", "sandbox-violation", Stage.RUNTIME,
        "The snippet made a system call the sandbox forbids outright",
        "Some system calls (ptrace, mount, bpf...) are never legitimate in a snippet; making "
        "one kills the process.",
        hint="Use only the tools and the allowed modules.",
    ),
    Code(
        "R208", "crashed", Stage.RUNTIME,
        "The sandbox process died",
        "The process running the snippet ended unexpectedly (a signal or an exit).",
        hint="Simplify the snippet; if it is plain code, report it as an engine bug.",
    ),
    Code(
        "R209", "answer-invalid", Stage.RUNTIME,
        "The final answer is not data or is too large",
        "`final_answer(value)` takes JSON-like data: str, numbers, bool, None, lists and dicts "
        "of them, or the tools' models, within `limits.max_answer_bytes`.",
        hint="Pass plain data to final_answer, e.g. a number, a string or a small dict.",
        reportable=True,
    ),
    Code(
        "R210", "recursion-limit", Stage.RUNTIME,
        "The snippet recursed too deeply",
        "Python's recursion limit stopped a runaway recursion.",
        hint="Use a loop instead of recursion, or make sure the recursion ends.",
        reportable=True,
    ),
    Code(
        "R211", "protocol-violation", Stage.RUNTIME,
        "The sandbox process broke the wire protocol",
        "The parent received a frame it does not accept (bad header, size, or content) and "
        "killed the process.",
        hint="Use only the tools and the allowed modules.",
    ),
    Code(
        "R212", "session-restored", Stage.RUNTIME,
        "The session was restarted and its state restored",
        "The process that held the session died with the snippet. A new one was started and "
        "the earlier successful snippets were replayed with their recorded tool results (no "
        "tool ran twice), so the session is as it was before the failed snippet.",
        hint="Nothing to do: earlier names are still available.",
    ),
    Code(
        "R213", "session-state-lost", Stage.RUNTIME,
        "The session was restarted and its earlier state is lost",
        "The process that held the session died with the snippet and the earlier snippets "
        "could not be replayed exactly. Names bound by earlier snippets no longer exist.",
        hint="Recompute the names you need (the message lists them) before using them.",
    ),
    Code(
        "R214", "replay-diverged", Stage.RUNTIME,
        "The snippet's tool calls differ from the recorded ones",
        "The snippet ran with recorded tool results (a transcript's replay): no tool was "
        "called. It asked for a call the record does not hold in that place (another tool or "
        "other arguments), so it was stopped there: the recorded results cannot answer it.",
        hint="Replay with live tools (`codeact replay --live`) to see what the tools do now.",
        reportable=True,
    ),
    Code(
        "R215", "interrupted", Stage.RUNTIME,
        "The snippet was interrupted",
        "The host stopped the snippet (Ctrl-C in `codeact repl`, or `Session.interrupt()`). "
        "Its process was killed and the session's earlier state restored, as after any kill.",
        hint="Run it again, or a faster version of it.",
    ),
    Code(
        "R216", "tool-not-permitted", Stage.RUNTIME,
        "A call of a tool the policy does not permit",
        "The policy's `[tools]` section (`allow`/`deny`) does not permit this tool. The "
        "static stage reports a call it can see (P160); this one reached the broker, which "
        "refuses it before the tool runs and stops the snippet.",
        hint="Use only the tools listed in the tool stubs.",
        reportable=True,
    ),
    Code(
        "R217", "tool-argument-refused", Stage.RUNTIME,
        "A tool argument the policy does not allow",
        "The policy's `[tools.arguments]` rules say what an argument may be (a pattern, a "
        "range, a length, a set of values). The broker checked the call before the tool ran, "
        "refused it and stopped the snippet.",
        hint="Pass a value the rule in the message allows, or do not make the call.",
        reportable=True,
    ),
    Code(
        "R218", "tool-calls-per-tool", Stage.RUNTIME,
        "More calls of a tool than the policy allows per snippet",
        "The policy's `[tools.calls]` limits how many times a snippet may call a tool. The "
        "call past the limit was refused before the tool ran and the snippet stopped.",
        hint="Call the tool fewer times: batch the work, or spread it over snippets only if "
        "the task really needs more.",
        reportable=True,
    ),
)

_EXTRACT: tuple[Code, ...] = (
    Code(
        "X101", "no-code", Stage.EXTRACT,
        "The model's reply contains no Python code",
        "The agent looks for fenced code blocks, then for a bare snippet, then for an answer "
        "given in prose (`Final answer: ...`). It found none of them.",
        hint="Reply with one ```python code block that calls the tools; finish with "
        "final_answer(answer).",
    ),
    Code(
        "X102", "unclosed-fence", Stage.EXTRACT,
        "A code block was not closed",
        "The reply opened a code fence and never closed it (often: the model hit its length "
        "limit). The code up to the end of the reply was used.",
        hint="Close code blocks with ``` and keep the code short.",
    ),
    Code(
        "X103", "not-structured", Stage.EXTRACT,
        "A structured reply is not the JSON object asked for",
        "With structured output (`--structured`) the model is asked for a JSON object with "
        "the string fields `thought` and `code`, and servers that can constrain decoding are "
        "given that schema. The reply was not valid JSON, not an object, or had no `code` "
        "string, so there was nothing to run.",
        hint='Reply with only a JSON object: {"thought": "...", "code": "..."}, the Python '
        "code in `code`.",
    ),
    Code(
        "X104", "extra-blocks", Stage.EXTRACT,
        "Code blocks after the first were not run",
        "The reply held more than one Python code block. Only the first complete block runs: "
        "what a model writes after its code (a guessed output, a second attempt, an "
        "example) too often breaks code that was right. Measured on the task suite: "
        "benchmarks/RESULTS.md.",
        hint="Put all the code of a step in one code block.",
    ),
)

_CATALOG = _CATALOG + _RUNTIME + _EXTRACT
CATALOG: dict[str, Code] = {c.code: c for c in _CATALOG}
_BY_STAGE_RULE: dict[tuple[Stage, str], Code] = {(c.stage, c.rule): c for c in _CATALOG}


def lookup(code: str) -> Code | None:
    """The catalog entry for a code (case-insensitive) or a rule name, or None."""
    found = CATALOG.get(code.upper())
    if found is not None:
        return found
    for entry in _CATALOG:
        if entry.rule == code:
            return entry
    return None


def for_rule(stage: Stage, rule: str) -> Code:
    """The catalog entry of a stage's rule; unknown mypy codes fall back to T199."""
    found = _BY_STAGE_RULE.get((stage, rule))
    if found is not None:
        return found
    if stage is Stage.TYPES:
        return CATALOG["T199"]
    raise KeyError(f"no code for rule {rule!r} of stage {stage}")


def get(code: CodeName) -> Code:
    return CATALOG[code]


#: The codes a snippet's process may report about its own snippet; a child that reports
#: another is treated as broken (engine.execution).
REPORTABLE: frozenset[str] = frozenset(c.code for c in _CATALOG if c.reportable)


def diagnostic(code: CodeName, message: str, *, source: str = "", line: int = 1,
               column: int = 1, end_line: int | None = None, end_column: int | None = None,
               severity: Severity = Severity.ERROR, hint: str | None = None,
               source_line: str | None = None) -> Diagnostic:
    """A diagnostic of ``code``: its stage, rule and default hint come from the catalog, the
    offending line from ``source`` unless ``source_line`` is given."""
    entry = CATALOG[code]
    return Diagnostic(
        stage=entry.stage, code=entry.code, rule=entry.rule, severity=severity,
        message=message, line=line, column=column, end_line=end_line, end_column=end_column,
        source_line=line_of(source, line) if source_line is None else source_line,
        hint=entry.hint if hint is None else hint)
