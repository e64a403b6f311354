"""mypy's options for the checker, and the type cache's builds, each in a process of its own.

An entry of the type cache (``engine.typecheck.storage``) is made by an ordinary incremental
mypy build that also writes fine-grained dependencies (the daemon's machinery only reads
such a cache, it cannot write one); the checker's server then loads it. The build runs in a
new process, which ends with it: what it allocates (hundreds of MB with pandas) would
otherwise stay with a long-lived checker, and mypy's process-wide state stays the server's.
This module imports mypy and nothing of the engine's but module names.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import mypy.build
from mypy import errorcodes
from mypy.modulefinder import BuildSource
from mypy.options import Options

from engine.typecheck.context import PRELOAD_MODULE, TOOLS_MODULE

#: A build that takes longer than this is given up (the checker then starts without the
#: cache): pandas' takes about ten seconds on a slow machine.
BUILD_SECONDS = 600.0

_MAIN = ("import sys; sys.path.insert(0, sys.argv[1]); "
         "from engine.typecheck.prebuild import main; main()")


def mypy_options() -> Options:
    """The options of every build and check of the type stage."""
    options = Options()
    options.python_version = sys.version_info[:2]
    options.show_column_numbers = True
    options.show_error_end = True
    options.hide_error_codes = False
    options.output = "json"
    options.error_summary = False
    options.check_untyped_defs = True
    # A session is a REPL: rebinding a name to a value of another type is normal.
    options.allow_redefinition = True
    options.ignore_missing_imports = True
    # Installed packages are checked only as far as the snippet needs them, and their own
    # errors are not the snippet's: reported, they would also make every fine-grained update
    # re-check them (pandas-stubs pulls in numpy and jinja2 sources: 47 s per update, not 5 ms).
    options.follow_imports = "silent"
    options.export_types = True
    options.color_output = False
    # A snippet is a script: `seen = {}` or `counts = Counter()` run fine and mypy infers
    # Any for the items. Demanding an annotation would cost a model a turn for nothing.
    options.disabled_error_codes = {errorcodes.VAR_ANNOTATED}
    # Each update empties mypy's module-search cache, and a name imported from a module is
    # looked up as a possible submodule: without this, `from codeact_ctx import x` (every
    # check of a session with a name in it) lists every directory on the search path again,
    # more than the check of the snippet itself. The generated modules are the build's
    # sources, so their names resolve from the source set; nothing else changes.
    options.fast_module_lookup = True
    return options


def cache_options(cache_dir: Path) -> Options:
    """The options, with mypy's cache in ``cache_dir``: plain files (sqlite's would be
    written to, journal and all, even by a process that only reads)."""
    options = mypy_options()
    options.cache_dir = str(cache_dir)
    options.sqlite_cache = False
    return options


def build_elsewhere(src: Path, cache_dir: Path, stubs: str, preload: str, mtime: int) -> None:
    """Build in a new process (see ``build``); raises if it fails."""
    request = json.dumps({"src": str(src), "cache_dir": str(cache_dir), "stubs": stubs,
                          "preload": preload, "mtime": mtime})
    engine_root = str(Path(__file__).resolve().parent.parent.parent)
    done = subprocess.run([sys.executable, "-I", "-c", _MAIN, engine_root], input=request,
                          capture_output=True, text=True, env={}, timeout=BUILD_SECONDS,
                          check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise RuntimeError(f"the type cache's build failed ({done.returncode}): "
                           + (lines[-1] if lines else "no message"))


def build(src: Path, cache_dir: Path, stubs: str, preload: str, mtime: int) -> None:
    """Write the tools' and preload modules' stubs into ``src`` (with the modification time
    the checker will find) and mypy's fine-grained cache of their build into ``cache_dir``.
    The snippet and the session's context are left out: their files are each checker's own,
    and mypy rewrites the records of files it finds at another path."""
    src.mkdir(parents=True)
    sources = []
    for module, text in ((TOOLS_MODULE, stubs), (PRELOAD_MODULE, preload)):
        path = src / f"{module}.pyi"
        path.write_text(text, encoding="utf-8")
        os.utime(path, (mtime, mtime))
        sources.append(BuildSource(str(path), module))
    options = cache_options(cache_dir)
    options.incremental = True
    options.cache_fine_grained = True
    options.local_partial_types = True  # as the daemon's server sets it
    result = mypy.build.build(sources, options)
    if result.errors:
        raise ValueError("generated stubs do not type-check:\n" + "\n".join(result.errors))


def main() -> NoReturn:
    request = json.loads(sys.stdin.read())
    build(Path(request["src"]), Path(request["cache_dir"]), request["stubs"],
          request["preload"], int(request["mtime"]))
    sys.stdout.flush()
    os._exit(0)  # freeing the build's objects one by one would take longer than the build


__all__ = ["BUILD_SECONDS", "build", "build_elsewhere", "cache_options", "mypy_options"]
