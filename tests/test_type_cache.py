"""The type cache: mypy's state persisted per toolset (engine/typecheck/storage.py).

A checker that loads the cache must report exactly what one that built from nothing reports;
a change of what the build depends on must make another entry; and nothing that can happen
to the cache (damage, an unwritable directory, processes building it at once) may fail a
check. Every test uses a cache directory of its own, never the user's.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from engine import Engine, SessionContext, load_tools, render_stubs
from engine.checkpool import close_unused_pools
from engine.checkspawn import cancel_prestarted
from engine.parsing import ParsedSnippet, parse_cst
from engine.typecheck import checker as checker_module
from engine.typecheck import storage
from engine.typecheck.checker import TypeChecker, TypeReport
from engine.typecheck.storage import CacheEntry, cache_root, scratch_dir, worker_environment

ROOT = Path(__file__).resolve().parent.parent
STUBS = render_stubs(load_tools("examples.toolsets.users"))

#: (snippet, in a session after the one before?) Errors of several kinds, names bound for the
#: next snippet, modules the stubs do not import (whose trees a cached build loads lazily).
SNIPPETS = [
    ("users = get_all_users()\nfirst = users[0]\nname = first.name\n", False),
    ("deactivate(first.name)\nprint(name + 1)\n", True),
    ("import statistics\nmean: str = statistics.mean([1, 2])\n", False),
    ("import collections, decimal\nc = collections.Counter('ab')\nd: int = decimal.Decimal(1)\n",
     False),
    ("u = get_all_users()[0]\nprint(u.address.contry)\n", False),
    ("import json\nconfig = json.loads('{}')\nconfig.nope()\n", False),
]


def parsed(source: str) -> ParsedSnippet:
    snippet = parse_cst(source)
    assert isinstance(snippet, ParsedSnippet)
    return snippet


Outcome = tuple[list[tuple[str, int | None, int | None, str]], list[tuple[str, str, str]]]


def outcome(report: TypeReport) -> Outcome:
    return ([(d.code, d.line, d.column, d.message) for d in report.diagnostics],
            [(b.name, b.kind, b.text) for b in report.bindings])


def run(checker: TypeChecker) -> list[Outcome]:
    """What the checker says of SNIPPETS."""
    found: list[Outcome] = []
    context = SessionContext()
    for source, continues in SNIPPETS:
        report = checker.check(parsed(source), context if continues else SessionContext())
        context = context.extended(report.bindings)
        found.append(outcome(report))
    return found


@pytest.fixture(scope="module")
def expected() -> list[Outcome]:
    checker = TypeChecker(STUBS, cache=False)
    try:
        checker.warm()
        assert checker.started_from == "cold"
        return run(checker)
    finally:
        checker.close()


def start(cache: Path | bool, stubs: str = STUBS, preload: tuple[str, ...] = ()) -> TypeChecker:
    checker = TypeChecker(stubs, preload, cache=cache)
    checker.warm()
    return checker


def entries(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "types").iterdir() if p.is_dir())


def test_a_loaded_checker_reports_what_a_cold_one_does(tmp_path: Path,
                                                       expected: list[Outcome]) -> None:
    first = start(tmp_path)
    assert first.started_from == "built"
    assert run(first) == expected
    second = start(tmp_path)
    assert second.started_from == "loaded"
    assert run(second) == expected
    first.close()
    second.close()
    [entry] = entries(tmp_path)
    assert (entry / "complete.json").is_file()


def test_the_errors_are_there(expected: list[Outcome]) -> None:
    # Guards the comparisons above: a checker that found nothing would match another.
    messages = [message for diagnostics, _ in expected for *_, message in diagnostics]
    assert any("Decimal" in m for m in messages)
    assert any('"float", variable has type "str"' in m for m in messages)  # statistics.mean
    assert any("contry" in m for m in messages)


def test_preloaded_modules_load_like_built_ones(tmp_path: Path) -> None:
    # The preloaded build holds modules a snippet imports later: their trees must be there.
    cold = start(False, preload=("fractions",))
    built = start(tmp_path, preload=("fractions",))
    loaded = start(tmp_path, preload=("fractions",))
    assert (built.started_from, loaded.started_from) == ("built", "loaded")
    assert run(loaded) == run(cold) == run(built)
    for checker in (cold, built, loaded):
        checker.close()


@pytest.mark.parametrize("change", ["stubs", "preload", "mypy", "python", "installed"])
def test_what_the_build_depends_on_keys_the_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  change: str) -> None:
    installed = tmp_path / "site-packages"
    installed.mkdir()
    monkeypatch.setattr(checker_module, "get_search_dirs", lambda _: ([], [str(installed)]))
    cache = tmp_path / "cache"
    preload: tuple[str, ...] = ("decimal",)  # so that the installed packages count
    start(cache, preload=preload).close()
    stubs = STUBS
    if change == "stubs":
        stubs = STUBS + "\ndef extra_tool(n: int) -> int: ...\n"
    elif change == "preload":
        preload = ("decimal", "fractions")  # a policy that lets a snippet import more
    elif change == "mypy":
        monkeypatch.setattr(checker_module, "mypy_version", "0.0+another")
    elif change == "python":
        monkeypatch.setattr(sys, "version", sys.version + " (another build)")
    else:
        (installed / "newly_installed.pth").write_text("")
        os.utime(installed, ns=(time.time_ns(), time.time_ns() + 10**9))
    checker = start(cache, stubs, preload)
    assert checker.started_from == "built"
    checker.close()
    assert len(entries(cache)) == 2
    unchanged = start(cache, stubs, preload)
    assert unchanged.started_from == "loaded"
    unchanged.close()


def damage(entry: Path, pattern: str) -> int:
    count = 0
    for path in (entry / "mypy").rglob(pattern):
        if path.is_file():
            path.write_bytes(b"\x00garbage" * 3)
            count += 1
    return count


@pytest.mark.parametrize("pattern", ["*.meta.ff", "*.meta_ex.ff", "*.data.ff", "*.deps.json",
                                     "@deps.meta.json", "*"])
def test_a_damaged_entry_falls_back_and_is_rebuilt(tmp_path: Path, expected: list[Outcome],
                                                   pattern: str) -> None:
    start(tmp_path).close()
    [entry] = entries(tmp_path)
    if not damage(entry, pattern):
        pytest.skip(f"this mypy writes no {pattern} files")
    checker = start(tmp_path)
    assert checker.started_from in ("cold", "loaded")
    assert run(checker) == expected
    checker.close()
    after = start(tmp_path)
    assert after.started_from in ("built", "loaded")
    assert run(after) == expected
    after.close()


def test_a_damaged_marker_or_stub_is_not_trusted(tmp_path: Path,
                                                 expected: list[Outcome]) -> None:
    start(tmp_path).close()
    [entry] = entries(tmp_path)
    (entry / "complete.json").write_text("{not json")
    rebuilt = start(tmp_path)
    assert rebuilt.started_from == "built"
    rebuilt.close()
    tools = entry / "src" / "codeact_tools.pyi"
    tools.write_text(tools.read_text().replace("def deactivate", "def renamed"))
    checker = start(tmp_path)
    assert checker.started_from == "cold"
    assert run(checker) == expected
    checker.close()
    assert start(tmp_path).started_from == "built"


def test_a_check_the_cache_fails_is_made_again_without_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, expected: list[Outcome]) -> None:
    start(tmp_path).close()
    checker = start(tmp_path)
    assert checker.started_from == "loaded"
    real = TypeChecker._check
    failures: list[int] = []

    def failing_once(self: TypeChecker, *args: object) -> TypeReport:
        if not failures:
            failures.append(1)
            raise AssertionError("a tree mypy could not load")
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(TypeChecker, "_check", failing_once)
    assert run(checker) == expected
    assert str(checker.started_from) == "cold"  # (mypy took the first assertion as final)
    checker.close()
    assert not entries(tmp_path)  # discarded: the next start builds it again


def test_an_unwritable_cache_is_no_cache(tmp_path: Path, expected: list[Outcome]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    checker = start(blocker / "cache")  # a directory cannot be made under a file
    assert checker.started_from == "cold"
    assert run(checker) == expected
    checker.close()


def test_a_read_only_complete_entry_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            expected: list[Outcome]) -> None:
    start(tmp_path).close()
    [entry] = entries(tmp_path)
    lock = tmp_path / "types" / f"{entry.name}.lock"
    lock.unlink()
    # As on a read-only file system (root ignores permission bits): no lock can be made.
    real_open = os.open

    def read_only_open(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        if str(path) == str(lock) and flags & os.O_CREAT:
            raise OSError(30, "Read-only file system")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only_open)
    monkeypatch.setattr(os, "access", lambda *_: False)
    checker = start(tmp_path)
    assert checker.started_from == "loaded"
    assert run(checker) == expected
    checker.close()


_CONCURRENT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from engine.parsing import parse_cst
    from engine.typecheck.checker import TypeChecker
    checker = TypeChecker(Path(sys.argv[3]).read_text(), cache=Path(sys.argv[2]))
    checker.warm()
    report = checker.check(parse_cst("deactivate('7')\\nu = get_all_users()[0]\\nu.nme\\n"))
    print(json.dumps([checker.started_from, [d.message for d in report.diagnostics]]))
""")


def test_processes_building_at_once_build_once(tmp_path: Path) -> None:
    stubs = tmp_path / "stubs.pyi"
    stubs.write_text(STUBS)
    cache = tmp_path / "cache"
    processes = [subprocess.Popen([sys.executable, "-c", _CONCURRENT, str(ROOT), str(cache),
                                   str(stubs)], stdout=subprocess.PIPE, text=True)
                 for _ in range(4)]
    results = [json.loads(p.communicate(timeout=300)[0]) for p in processes]
    assert all(p.returncode == 0 for p in processes)
    starts = sorted(started for started, _ in results)
    assert starts == ["built", "loaded", "loaded", "loaded"]
    messages = {json.dumps(found) for _, found in results}
    assert len(messages) == 1 and "nme" in messages.pop()
    assert len(entries(cache)) == 1
    again = start(cache)
    assert again.started_from == "loaded"
    again.close()


def test_an_entry_built_while_a_process_waited_to_build_it_is_used(tmp_path: Path) -> None:
    # Two check workers started together: both saw no entry; the first built it and holds it
    # (a shared lock, for as long as it checks). The second waited for the exclusive lock,
    # which never comes while the first lives, until the deadline: it then built from
    # nothing and did not start within the pool's minute (CI, test_async_engine).
    import threading

    builder = CacheEntry(tmp_path, {"name": "x"})
    builder.types.mkdir(parents=True)
    held = os.open(builder.types / f"{builder.key}.lock", os.O_RDONLY | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_SH)  # the first worker, building (then holding) the entry

    def finish_build() -> None:
        time.sleep(0.5)
        builder.src.mkdir(parents=True)
        builder._mark()

    def build(entry: CacheEntry) -> None:
        raise AssertionError("built twice")

    finishing = threading.Thread(target=finish_build)
    finishing.start()
    try:
        waiter = CacheEntry(tmp_path, {"name": "x"})
        assert waiter.acquire(build, wait=30.0)
        waiter.release()
    finally:
        finishing.join()
        os.close(held)


def fake_entry(cache: Path, name: str, age_days: float) -> Path:
    entry = CacheEntry(cache, {"name": name})
    assert entry.acquire(lambda e: e.src.mkdir(parents=True))
    entry.release()
    stamp = time.time() - age_days * 24 * 3600
    os.utime(entry.path / "complete.json", (stamp, stamp))
    return entry.path


def test_old_and_surplus_entries_are_pruned_unless_in_use(tmp_path: Path) -> None:
    held = fake_entry(tmp_path, "held", 30)
    user = os.open(tmp_path / "types" / f"{held.name}.lock", os.O_RDONLY)
    fcntl.flock(user, fcntl.LOCK_SH)  # a checker in another process uses it
    try:
        old = fake_entry(tmp_path, "old", 30)
        recent = [fake_entry(tmp_path, f"recent{i}", i / 10)
                  for i in range(storage.KEEP_ENTRIES + 2)]
        fake_entry(tmp_path, "new", 0)  # each build prunes
    finally:
        os.close(user)
    left = {p.name for p in entries(tmp_path)}
    assert old.name not in left
    assert held.name in left
    assert {p.name for p in recent[:storage.KEEP_ENTRIES]} <= left
    assert not {p.name for p in recent[storage.KEEP_ENTRIES:]} & left
    assert not (tmp_path / "types" / f"{old.name}.lock").exists()


def test_a_half_built_entry_is_built_again(tmp_path: Path) -> None:
    entry = CacheEntry(tmp_path, {"name": "x"})
    entry.src.mkdir(parents=True)  # what a builder killed midway leaves
    (entry.src / "stray").write_text("")
    built: list[Path] = []

    def build(into: CacheEntry) -> None:
        into.src.mkdir(parents=True)
        built.append(into.path)

    assert entry.acquire(build)
    assert built and not (entry.src / "stray").exists()
    entry.release()


def test_where_the_cache_is() -> None:
    assert cache_root({"CODEACT_CACHE_DIR": "/srv/cache", "XDG_CACHE_HOME": "/x"}) == \
        Path("/srv/cache")
    assert cache_root({"XDG_CACHE_HOME": "/x"}) == Path("/x/codeact")
    assert cache_root({"XDG_CACHE_HOME": "relative"}) == Path.home() / ".cache" / "codeact"
    assert cache_root({}) == Path.home() / ".cache" / "codeact"
    assert cache_root({"CODEACT_NO_CACHE": "1", "CODEACT_CACHE_DIR": "/srv/cache"}) is None
    assert cache_root({"CODEACT_NO_CACHE": "0", "CODEACT_CACHE_DIR": "/srv/c"}) == Path("/srv/c")
    assert worker_environment({"CODEACT_NO_CACHE": "1"}) == {"CODEACT_NO_CACHE": "1"}
    assert worker_environment({"XDG_CACHE_HOME": "/x", "SECRET": "s"}) == \
        {"CODEACT_CACHE_DIR": "/x/codeact"}


def test_the_tests_do_not_write_the_users_cache() -> None:
    root = cache_root()
    assert root is not None and not str(root).startswith(str(Path.home() / ".cache"))


def test_check_workers_use_the_cache_the_environment_names(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cancel_prestarted()  # one started earlier would have another environment
    monkeypatch.setenv("CODEACT_CACHE_DIR", str(tmp_path))
    # A toolset and policy no other test's pool has, so that a new worker starts.
    engine = Engine(load_tools("examples.toolsets.flights"), "strict")
    try:
        assert engine.check("x = 1").ok
    finally:
        engine.close()
        close_unused_pools()
    [entry] = entries(tmp_path)
    assert (entry / "complete.json").is_file()


def test_a_checkers_scratch_files_are_on_a_tmpfs_when_there_is_one() -> None:
    checker = TypeChecker(STUBS, cache=False)
    try:
        shm = scratch_dir()
        if shm is None:
            pytest.skip("no usable /dev/shm here")
        assert str(checker._dir).startswith(shm + "/")
    finally:
        checker.close()


def test_a_temporary_directory_chosen_in_the_process_wins(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # as a check worker does
    assert scratch_dir() is None
    checker = TypeChecker(STUBS, cache=False)
    try:
        assert checker._dir.parent == tmp_path
    finally:
        checker.close()
