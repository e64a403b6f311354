"""Hints that tell a model what to do instead of what it tried.

A hint names the reason (files, network, introspection...) and, when the registry has a tool
that plausibly does the job, that tool with its call shape.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from engine.catalog import ToolCatalog

_FILES = "files are not available"
_NETWORK = "the network is not available"
_SYSTEM = "the operating system is not available"
_DYNAMIC = "running code built at run time is not allowed"
_INTROSPECTION = "introspection of objects is not allowed"

#: Why well-known builtins and modules are unavailable, and which tools could stand in.
_REASONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "open": (_FILES, ("read", "file", "report", "load", "document")),
    "input": ("there is no user at a terminal", ("ask", "input", "user")),
    "eval": (_DYNAMIC, ()),
    "exec": (_DYNAMIC, ()),
    "compile": (_DYNAMIC, ()),
    "__import__": (_DYNAMIC, ()),
    "breakpoint": ("there is no debugger", ()),
    "getattr": (_INTROSPECTION + "; use `obj.name` with a literal attribute name", ()),
    "setattr": (_INTROSPECTION + "; assign with `obj.name = value`", ()),
    "delattr": (_INTROSPECTION, ()),
    "hasattr": (_INTROSPECTION, ()),
    "vars": (_INTROSPECTION, ()),
    "dir": (_INTROSPECTION + "; the tool stubs list every field", ()),
    "globals": (_INTROSPECTION, ()),
    "locals": (_INTROSPECTION, ()),
    "type": (_INTROSPECTION + "; use isinstance(x, T)", ()),
    "object": (_INTROSPECTION, ()),
    "memoryview": (_INTROSPECTION, ()),
    "help": ("there is no interactive help; the tool stubs document every tool", ()),
    "exit": ("end the snippet with final_answer(value)", ()),
    "quit": ("end the snippet with final_answer(value)", ()),
    "os": (_SYSTEM, ("file", "read", "list")),
    "sys": (_SYSTEM, ()),
    "subprocess": (_SYSTEM, ("run", "command")),
    "shutil": (_FILES, ("file",)),
    "pathlib": (_FILES, ("read", "file", "list")),
    "io": (_FILES, ("read", "file")),
    "glob": (_FILES, ("list", "file")),
    "tempfile": (_FILES, ()),
    "pickle": ("unpickling runs arbitrary code", ()),
    "marshal": (_DYNAMIC, ()),
    "ctypes": (_SYSTEM, ()),
    "importlib": (_DYNAMIC, ()),
    "builtins": (_INTROSPECTION, ()),
    "inspect": (_INTROSPECTION, ()),
    "gc": (_INTROSPECTION, ()),
    "types": (_INTROSPECTION, ()),
    "socket": (_NETWORK, ("fetch", "get", "search", "http", "url", "download")),
    "requests": (_NETWORK, ("fetch", "get", "search", "http", "url", "download")),
    "httpx": (_NETWORK, ("fetch", "get", "search", "http", "url", "download")),
    "urllib": (_NETWORK, ("fetch", "get", "search", "http", "url", "download")),
    "http": (_NETWORK, ("fetch", "get", "search", "http", "url", "download")),
    "threading": ("threads are not available", ()),
    "multiprocessing": (_SYSTEM, ()),
    "asyncio": ("async code is not available", ()),
}


def suggest_tools(tools: ToolCatalog, keywords: Iterable[str]) -> list[str]:
    """Tools whose name or description mentions one of the keywords, as call shapes."""
    keys = [k.lower() for k in keywords]
    if not keys:
        return []
    matching = []
    for t in tools:
        words = set(re.split(r"[^a-z0-9]+", f"{t.name} {t.description}".lower()))
        if any(k in words or k in t.name.lower() for k in keys):
            matching.append(f"`{t.name}(...)`")
    return matching[:3]


def unavailable_hint(name: str, tools: ToolCatalog, candidates: Iterable[str]) -> str:
    """Why ``name`` is unavailable and what to use instead."""
    root = name.split(".", maxsplit=1)[0]
    reason, keywords = _REASONS.get(name, _REASONS.get(root, ("", ())))
    found = suggest_tools(tools, keywords)
    parts: list[str] = []
    if reason:
        parts.append(f"`{name}` is not allowed: {reason}")
    if found:
        parts.append("use the tool " + " or ".join(found) + " instead")
    if not parts:
        close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.75)
        if close:
            return "did you mean " + " or ".join(f"`{c}`" for c in close) + "?"
        if not tools.tools:
            return (f"`{name}` is not defined here, and no tools are loaded: give the engine "
                    "its toolset (on the command line: --tools MODULE)")
        return (f"`{name}` is not defined here; use the tools, allowed builtins and names "
                "you bind yourself")
    return "; ".join(parts)


#: What to write instead of a denied helper that reads attributes named by a string.
_DENIED_INSTEAD: dict[str, str] = {
    "attrgetter": "write a lambda with the attribute spelled out: `key=lambda u: u.name`",
    "methodcaller": "write a lambda that calls the method: `map(lambda s: s.strip(), words)`",
    "Formatter": "use an f-string or `'...'.format(...)` on a literal template; "
                 "`string.Template` for `$name` substitution",
    "get_type_hints": "annotations are not evaluated at run time here; work with the values",
    "wraps": "define the wrapper function without copying the wrapped one's attributes",
    "update_wrapper": "define the wrapper function without copying the wrapped one's "
                      "attributes",
    "singledispatch": "branch on `isinstance(value, T)` in one function",
    "singledispatchmethod": "branch on `isinstance(value, T)` in one method",
    "make_dataclass": "write a `@dataclass` class statement",
    "redirect_stdout": "return or collect the text instead of capturing printed output",
    "redirect_stderr": "return or collect the text instead of capturing printed output",
    "chdir": "there is no file system to change directory in",
    "eval": "filter and compute with Python expressions: `df[df.age > 30]`, "
            "`df['total'] = df.price * df.qty`",
    "query": "select rows with a boolean mask: `df[(df.age > 30) & (df.city == 'Pune')]`",
    "ctypes": "raw memory is out of reach; use the array's values (`a.tolist()`)",
}
_NO_FILES = ("there are no files here: get the data from the tools and build the frame with "
             "`pd.DataFrame([r.model_dump() for r in results])`")
_NO_WRITES = ("there are no files here: answer with the data, `final_answer(df.to_dict('records'))`"
              ", or print a summary")
for _name in ("read_csv", "read_table", "read_fwf", "read_json", "read_html", "read_xml",
              "read_excel", "read_parquet", "read_feather", "read_orc", "read_pickle",
              "read_hdf", "read_sql", "read_sql_query", "read_sql_table", "read_stata",
              "read_sas", "read_spss", "read_clipboard", "ExcelFile", "HDFStore", "load",
              "loadtxt", "genfromtxt", "fromfile", "fromregex", "memmap", "DataSource"):
    _DENIED_INSTEAD[_name] = _NO_FILES
for _name in ("to_pickle", "to_parquet", "to_feather", "to_orc", "to_hdf", "to_sql",
              "to_excel", "to_stata", "to_clipboard", "to_xml", "ExcelWriter", "save", "savez",
              "savez_compressed", "savetxt", "tofile", "dump"):
    _DENIED_INSTEAD[_name] = _NO_WRITES


def denied_attribute_hint(name: str) -> str:
    """The hint for an attribute on the policy's deny list."""
    return _DENIED_INSTEAD.get(
        name, "frame, code and generator internals are out of reach; use the values directly")
