"""The words a policy is written in, and how they read to a model: the syntax kinds a policy
can forbid with their labels and hints, and the attributes denied unless a policy reopens them.

A leaf module: the policy's model, its rules and its prompt all read these tables, and none of
them needs the others to do so.
"""

from __future__ import annotations

from typing import Literal

#: Constructs a policy can forbid, each a kind of LibCST node (see ``policy.rules``).
SyntaxKind = Literal[
    "global", "nonlocal", "class", "async", "yield", "star_import", "lambda", "decorator",
    "with", "match", "del", "try_star", "walrus", "import",
]


#: What a model is told to do instead of each construct.
SYNTAX_HINTS: dict[SyntaxKind, str] = {
    "global": "return values from functions instead of rebinding module names",
    "nonlocal": "return values from the inner function instead",
    "class": "use dicts, tuples or the tools' models instead of defining classes",
    "async": "call the tools directly: they are synchronous",
    "yield": "build and return a list instead of a generator",
    "star_import": "import the names you need one by one",
    "lambda": "define a function with `def`",
    "decorator": "call the function explicitly instead of decorating",
    "with": "context managers are not available",
    "match": "use if/elif",
    "del": "rebind the name instead",
    "try_star": "use a plain try/except",
    "walrus": "assign in a separate statement",
    "import": "use the tools and builtins; imports are not available",
}

#: How each construct is named in diagnostics and in the prompt (a plural).
SYNTAX_LABELS: dict[SyntaxKind, str] = {
    "global": "`global` statements", "nonlocal": "`nonlocal` statements",
    "class": "class definitions", "async": "`async` functions",
    "yield": "`yield` expressions (generators)",
    "star_import": "star imports", "lambda": "`lambda` expressions", "decorator": "decorators",
    "with": "`with` statements", "match": "`match` statements", "del": "`del` statements",
    "try_star": "`except*` clauses", "walrus": "assignment expressions (`:=`)", "import": "imports",
}


#: Frame, code, generator, coroutine and traceback internals: reachable without dunders.
DEFAULT_DENIED_ATTRIBUTES: tuple[str, ...] = (
    "gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "gi_suspended",
    "cr_frame", "cr_code", "cr_await", "cr_origin", "cr_running", "cr_suspended",
    "ag_frame", "ag_code", "ag_await", "ag_running",
    "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "f_trace", "f_lasti",
    "tb_frame", "tb_next", "tb_lasti", "tb_lineno",
    "co_code", "co_consts", "co_names", "co_varnames", "co_filename", "co_lines",
    "func_globals", "func_code",
    "mro",
    # functools helpers that take attribute names as strings (update_wrapper copies any
    # attribute, __globals__ included) or evaluate string annotations (singledispatch).
    "update_wrapper", "wraps", "singledispatch", "singledispatchmethod",
    # Helpers that read attributes named by a string (any name, dunders included) or evaluate
    # one: operator's getters, string.Formatter's field traversal ("{0.__class__}"), and
    # typing.get_type_hints, which evaluates string annotations as code.
    "attrgetter", "methodcaller", "Formatter", "get_type_hints",
    # Makes a class from a namespace dict and any bases: the class rules could not see it.
    "make_dataclass",
    # contextlib's: swap the process's sys.stdout/stderr for any object, change directory.
    "redirect_stdout", "redirect_stderr", "chdir",
    # enum's: copy a class's members into the dict of the module the class names (which a
    # class can name freely: the sandbox's own modules too).
    "global_enum", "global_str", "global_enum_repr", "global_flag_repr",
    # Shared registries changed by a call: ABCs' (typing.Mapping.register(str) makes every
    # later isinstance(x, Mapping) lie).
    "register",
    # pydantic's class machinery: a tool's model class is shared with the child's proxies,
    # which serialise the arguments with it (a rebuilt model sent other arguments than the
    # snippet wrote).
    "model_rebuild", "model_config", "model_fields", "model_computed_fields",
)
