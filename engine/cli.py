"""The ``codeact`` command line. Presentation only: every decision is made by the engine.

Exit codes: 0 when everything checked is clean, 1 when there are diagnostics, 2 on a usage
error (bad arguments, a policy or toolset that cannot be loaded, a missing file).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

import engine
from engine.agent.model import BackendName
from engine.checkspawn import cancel_prestarted, prestart
from engine.errors import (
    CheckerUnavailableError,
    EngineError,
    PolicyError,
    SandboxUnavailableError,
)

# The rest of the engine (pydantic's models, the parser, the sandbox's client) is imported
# by the commands that use it: `codeact check` starts its check worker before it loads any
# of that, so that the worker's imports and its own take their time side by side.
if TYPE_CHECKING:
    from engine import render
    from engine.config import ProjectConfig
    from engine.pipeline import Engine
    from engine.policy.model import Policy
    from engine.results import RunResult
    from engine.session import Session
    from engine.tools import ToolRegistry

# Help in boxes for a person at a terminal; plain text when piped or read by a program.
_HELP_STYLE: Literal["rich"] | None = "rich" if sys.stdout.isatty() else None

app = typer.Typer(
    name="codeact",
    help="Check and run model-written Python snippets safely.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=_HELP_STYLE,
)
policy_app = typer.Typer(help="Inspect and validate policies.", no_args_is_help=True,
                         rich_markup_mode=_HELP_STYLE)
app.add_typer(policy_app, name="policy")

# rich styles the engine's own text only: no emoji codes or highlighting anywhere, markup only
# in our own literals (data is escaped or written as it is, see `emit`).
out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def emit(text: str, end: str = "\n") -> None:
    """Data (JSON, SARIF, stubs, a snippet's output) on standard output, byte for byte."""
    out.file.write(text + end)
    out.file.flush()


class Format(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"


ToolsOption = Annotated[
    str | None,
    typer.Option("--tools", "-t", envvar="CODEACT_TOOLS", show_envvar=False,
                 help="Toolset: a module, module:ATTR, or a .py file "
                      "(else $CODEACT_TOOLS, else [tool.codeact] tools in pyproject.toml)."),
]


def _bundled_policy_names() -> list[str]:
    """engine.policy.model.bundled_policy_names() without importing the policy model, for
    help text made at import (tests/test_check_start.py compares the two)."""
    here = Path(__file__).resolve().parent
    installed = here / "_policies"
    directory = installed if installed.is_dir() else here.parent / "policies"
    return sorted(p.stem for p in directory.glob("*.toml"))


PolicyOption = Annotated[
    str | None,
    typer.Option("--policy", "-p", envvar="CODEACT_POLICY", show_envvar=False,
                 help=f"Bundled policy ({', '.join(_bundled_policy_names())}) or a .toml "
                      "file (else $CODEACT_POLICY, else [tool.codeact] policy, else default)."),
]


def _project() -> ProjectConfig:
    """The [tool.codeact] settings of the project the command runs in."""
    from engine.config import ConfigError, find_config

    try:
        return find_config()
    except ConfigError as exc:
        _usage_error(str(exc))


def _version(value: bool) -> None:
    if value:
        out.print(f"codeact-engine {engine.__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(version: Annotated[bool, typer.Option(
        "--version", "-V", callback=_version, is_eager=True, help="Print the version.")]
        = False,
          debug: Annotated[bool, typer.Option(
              "--debug", help="Log the engine's debug messages to standard error (among them "
              "the traceback of a tool that raised).")] = False,
          ) -> None:
    """Check and run model-written Python snippets safely."""
    if debug:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger("engine")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)


def _usage_error(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(2)


def _tools_spec(tools: str | None) -> str | None:
    """The toolset to load: the flag or $CODEACT_TOOLS (click puts either in ``tools``),
    else the project's [tool.codeact] tools, importable from the project's root."""
    if tools:
        return tools
    project = _project()
    if not project.settings.tools:
        return None
    if project.path is not None and str(project.path.parent) not in sys.path:
        sys.path.insert(0, str(project.path.parent))  # its modules, as from its root
    return project.tools()


def _load(tools: str | None, policy: str | None) -> tuple[ToolRegistry, Policy]:
    """The toolset and policy a command uses: flags, then the environment, then the
    project's [tool.codeact], then no tools and the default policy."""
    from engine.policy.model import Policy
    from engine.tools import ToolRegistry, load_tools

    tools = _tools_spec(tools)
    policy = policy or _project().policy() or "default"
    try:
        registry = load_tools(tools) if tools else ToolRegistry()
        return registry, Policy.load(policy)
    except PolicyError as exc:
        lines = "\n".join(f"  {issue}" for issue in exc.issues)
        _usage_error(f"invalid policy:\n{lines}")
    except EngineError as exc:
        _usage_error(str(exc))


def _check_bind(host: str, port: int) -> None:
    """Fail before anything starts if the address cannot be listened on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            _usage_error(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        _usage_error(f"no such file: {path}")
    except (OSError, UnicodeDecodeError) as exc:
        _usage_error(f"cannot read {path}: {exc}")


def _snippet_files(arguments: list[str]) -> list[str]:
    """Files as given; a directory stands for the .py files under it, in sorted order."""
    files: list[str] = []
    for argument in arguments:
        path = Path(argument)
        if argument != "-" and path.is_dir():
            found = sorted(p for p in path.rglob("*.py") if p.is_file() and not any(
                part.startswith(".") or part == "__pycache__"
                for part in p.relative_to(path).parts))
            if not found:
                _usage_error(f"no .py files in the directory {argument}")
            files.extend(str(p) for p in found)
        else:
            files.append(argument)
    return files


FilesArgument = Annotated[list[str], typer.Argument(
    help="Snippet files or directories of them ('-' for standard input). By default they "
         "are successive snippets of one session: later ones may use names earlier ones "
         "bound (see --independent).")]
IndependentOption = Annotated[bool, typer.Option(
    "--independent", help="Each file on its own, as if it were the only one (a fresh "
                          "session for each).")]


@app.command()
def check(
    files: FilesArgument,
    tools: ToolsOption = None,
    policy: PolicyOption = None,
    output_format: Annotated[Format | None, typer.Option(
        "--format", "-f", help="text, json or sarif (else [tool.codeact] format, else text).")]
    = None,
    no_types: Annotated[bool, typer.Option("--no-types", help="Skip the mypy stage.")] = False,
    independent: IndependentOption = False,
) -> None:
    """Check snippets: parse, policy, types. Nothing is executed."""
    from engine import render

    try:
        reports, chosen = _check_files(files, tools, policy, output_format, no_types,
                                       independent)
    finally:
        cancel_prestarted()  # the worker `main` started, unused if a usage error came first
    if chosen is Format.json:
        emit(render.to_json(reports))
    elif chosen is Format.sarif:
        emit(render.to_sarif(reports, engine.__version__))
    else:
        render.print_text(reports, out)
    raise typer.Exit(0 if all(r.report.ok for r in reports) else 1)


def _check_files(files: list[str], tools: str | None, policy: str | None,
                 output_format: Format | None, no_types: bool, independent: bool,
                 ) -> tuple[list[render.FileReport], Format]:
    from engine import render
    from engine.pipeline import Engine
    from engine.typecheck.context import SessionContext

    chosen = output_format or Format(_project().settings.format or "text")
    registry, loaded = _load(tools, policy)
    sources = [(path, _read(path)) for path in _snippet_files(files)]
    eng = Engine(registry, loaded, check_types=not no_types)
    context = SessionContext()
    reports: list[render.FileReport] = []
    try:
        for path, source in sources:
            report = eng.check(source, context=SessionContext() if independent else context)
            if report.ok and not independent:
                context = context.extended(report.bindings)
            reports.append(render.FileReport(path, report))
    finally:
        eng.close()
    return reports, chosen


class RunFormat(StrEnum):
    text = "text"
    json = "json"


UnsafeOption = Annotated[bool, typer.Option(
    "--unsafe-no-seccomp",
    help="Run without the kernel filter where seccomp is unavailable (rlimits still apply).")]


def _engine(registry: ToolRegistry, policy: Policy, unsafe: bool,
            check_workers: int = 2) -> Engine:
    from engine.pipeline import Engine

    return Engine(registry, policy, isolation="unsafe-no-seccomp" if unsafe else "seccomp",
                  check_workers=check_workers)


@app.command()
def run(
    files: FilesArgument,
    tools: ToolsOption = None,
    policy: PolicyOption = None,
    output_format: Annotated[RunFormat | None, typer.Option(
        "--format", "-f", help="text or json (else [tool.codeact] format, else text).")]
    = None,
    unsafe_no_seccomp: UnsafeOption = False,
    independent: IndependentOption = False,
) -> None:
    """Check and run snippets in a sandboxed session."""
    from engine import render

    configured = _project().settings.format
    chosen = output_format or (RunFormat.json if configured == "json" else RunFormat.text)
    registry, loaded = _load(tools, policy)
    sources = [(path, _read(path)) for path in _snippet_files(files)]
    eng = _engine(registry, loaded, unsafe_no_seccomp)
    runs: list[tuple[str, RunResult]] = []
    try:
        session = eng.session()
        try:
            for path, source in sources:
                if independent and runs:
                    session.close()
                    session = eng.session()
                result = session.run(source)
                runs.append((path, result))
                if chosen is RunFormat.text:
                    render.print_run(path, result, out)
        finally:
            session.close()
    except SandboxUnavailableError as exc:
        _usage_error(str(exc))
    finally:
        eng.close()
    if chosen is RunFormat.json:
        emit(render.run_to_json(runs))
    raise typer.Exit(0 if all(r.ok for _, r in runs) else 1)


_REPL_HELP = """\
Type Python; a blank line (or a complete one-line statement) runs it in the session.
  :rules   the policy in plain language      :stubs   the tools, as the model sees them
  :names   names the session holds            :quit    leave (or Ctrl-D)"""


@app.command()
def repl(
    tools: ToolsOption = None,
    policy: PolicyOption = None,
    unsafe_no_seccomp: UnsafeOption = False,
) -> None:
    """Try a policy interactively: each snippet is checked, then run in one session."""
    from engine import render
    from engine.policy.prompt import render_prompt_rules

    registry, loaded = _load(tools, policy)
    eng = _engine(registry, loaded, unsafe_no_seccomp)
    try:
        session = eng.session()
    except SandboxUnavailableError as exc:
        eng.close()
        _usage_error(str(exc))
    out.print(f"codeact repl — policy [bold]{escape(loaded.name)}[/], "
              f"{len(registry)} tools. :help for commands.")
    history = _LineHistory.open()
    count = 0
    try:
        while True:
            source = _read_snippet()
            if source is None:
                break
            command = source.strip()
            if command in (":quit", ":q", ":exit"):
                break
            if command == ":help":
                emit(_REPL_HELP)
            elif command == ":rules":
                emit(render_prompt_rules(loaded))
            elif command == ":stubs":
                emit(eng.prompt_view)
            elif command == ":names":
                emit(", ".join(sorted(session.context.names)) or "(none)")
            elif command:
                count += 1
                render.print_run(f"[{count}]", _run_interruptible(session, source), out)
    finally:
        history.save()
        session.close()
        eng.close()


def _run_interruptible(session: Session, source: str) -> RunResult:
    """Ctrl-C stops the snippet (its process is killed, the session restored), not the REPL."""
    import signal

    previous = signal.signal(signal.SIGINT, lambda *_: session.interrupt())
    try:
        return session.run(source)
    finally:
        signal.signal(signal.SIGINT, previous)


class _LineHistory:
    """Line editing and history for the REPL (readline), kept in ``$CODEACT_HISTORY``
    (default ``~/.codeact_history``). Without readline, input still works, unedited."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    @classmethod
    def open(cls) -> _LineHistory:
        import os

        try:
            import readline
        except ImportError:
            return cls(None)
        path = Path(os.environ.get("CODEACT_HISTORY") or "~/.codeact_history").expanduser()
        readline.set_history_length(1000)
        with contextlib.suppress(OSError):
            readline.read_history_file(path)
        return cls(path)

    def save(self) -> None:
        if self.path is None:
            return
        import readline

        with contextlib.suppress(OSError):
            readline.write_history_file(self.path)


def _read_snippet() -> str | None:
    """Lines until the snippet is complete, as the Python REPL decides; None at end of input.

    Ctrl-C drops the lines typed so far and starts a new prompt, as Python's REPL does."""
    import codeop

    lines: list[str] = []
    while True:
        try:
            line = input("... " if lines else ">>> ")
        except KeyboardInterrupt:
            err.print("KeyboardInterrupt")
            lines = []
            continue
        except EOFError:
            return "\n".join(lines) if lines else None
        if not lines and line.strip().startswith(":"):
            return line
        lines.append(line)
        source = "\n".join(lines)
        try:
            complete = codeop.compile_command(source, "<repl>", "exec") is not None
        except (SyntaxError, ValueError, OverflowError):
            return source  # let the parse stage report it properly
        if complete and (len(lines) == 1 or not line.strip()):
            return source


class Mode(StrEnum):
    codeact = "codeact"
    json = "json"


class Feedback(StrEnum):
    structured = "structured"
    plain = "plain"
    none = "none"


class Blocks(StrEnum):
    first = "first"
    all = "all"


@app.command()
def agent(
    task: Annotated[str, typer.Argument(help="What the agent should do.")],
    tools: ToolsOption = None,
    policy: PolicyOption = None,
    model: Annotated[str, typer.Option("--model", "-m", help="The model's name on the server.")]
    = "qwen2.5-coder:1.5b",
    backend: Annotated[BackendName, typer.Option(
        help="ollama: an Ollama server; openai: an OpenAI-compatible one (llama.cpp's "
             "llama-server, vLLM, LM Studio; needs the `openai` extra).")] = "ollama",
    host: Annotated[str | None, typer.Option(
        help="Server URL (ollama default: $OLLAMA_HOST, then http://127.0.0.1:11434; openai "
             "default: $OPENAI_BASE_URL, then http://127.0.0.1:8080).")] = None,
    mode: Annotated[Mode, typer.Option(help="codeact: the model writes code; json: native "
                                            "tool calling, one call per step.")] = Mode.codeact,
    max_turns: Annotated[int, typer.Option(min=1)] = 10,
    feedback: Annotated[Feedback, typer.Option(
        help="What the model is told after a turn.")] = Feedback.structured,
    structured: Annotated[bool, typer.Option(
        "--structured", help="The model replies with JSON {thought, code}; the request "
                             "carries the schema, so servers constrain decoding to it.")] = False,
    example_turn: Annotated[str | None, typer.Option(
        metavar="auto|FILE", help="Show a worked example before the task: `auto` builds one "
                                  "from the tools; or a TOML file with task, code, thought.")]
    = None,
    blocks: Annotated[Blocks, typer.Option(
        help="Of several code blocks in a reply, run the first or all of them joined.")]
    = Blocks.first,
    keep_observations: Annotated[int | None, typer.Option(
        min=1, metavar="N", help="Send only the latest N observations in full, older ones "
                                 "shortened (for small contexts).")] = None,
    transcript: Annotated[Path | None, typer.Option(help="Write a JSON-lines transcript.")]
    = None,
    temperature: Annotated[float | None, typer.Option()] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    num_ctx: Annotated[int | None, typer.Option(
        help="Context size passed to Ollama (an OpenAI-compatible server sets its own).")]
    = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for one model reply.")] = 300.0,
    quiet: Annotated[bool, typer.Option(help="Do not stream the model's text.")] = False,
    unsafe_no_seccomp: UnsafeOption = False,
) -> None:
    """Solve a task with a local model, showing each turn live."""
    from engine.agent import (
        CodeActAgent,
        ExampleError,
        ExampleTurn,
        JsonToolAgent,
        ModelError,
        generated_example,
    )
    from engine.agent.backends import connect
    from engine.agent.display import LiveDisplay
    from engine.agent.loop import Agent

    if transcript is not None and not transcript.parent.is_dir():
        _usage_error(f"cannot write the transcript {transcript}: the directory "
                     f"{transcript.parent} does not exist")
    if mode is Mode.json and (structured or example_turn is not None
                              or keep_observations is not None or blocks is not Blocks.first):
        _usage_error("--structured, --example-turn, --blocks and --keep-observations shape "
                     "CodeAct replies; they do not apply to --mode json")
    registry, loaded = _load(tools, policy)
    options = {k: v for k, v in (("temperature", temperature), ("seed", seed),
                                 ("num_ctx", num_ctx)) if v is not None}
    try:
        llm = connect(backend, model, host=host, options=options, timeout=timeout)
    except ModelError as exc:
        _usage_error(str(exc))
    eng = _engine(registry, loaded, unsafe_no_seccomp)
    display = LiveDisplay(out, show_model_text=not quiet)
    settings = dict(max_turns=max_turns, feedback=feedback.value, transcript=transcript,
                    tools_spec=tools or "", hooks=display.hooks())
    try:
        runner: Agent
        if mode is Mode.codeact:
            example = None
            if example_turn == "auto":
                example = generated_example(eng)
            elif example_turn is not None:
                example = ExampleTurn.from_file(example_turn)
            runner = CodeActAgent(eng, llm, structured=structured, example=example,
                                  blocks=blocks.value, keep_observations=keep_observations,
                                  **settings)
        else:
            runner = JsonToolAgent(eng, llm, **settings)
        answer = runner.run(task)
    except (ExampleError, SandboxUnavailableError) as exc:
        _usage_error(str(exc))
    finally:
        eng.close()
    display.answer(answer)
    if answer.stop_reason == "model_error":
        raise typer.Exit(2)
    raise typer.Exit(0 if answer.stop_reason in ("final_answer", "answered") else 1)


@app.command()
def replay(
    transcript: Annotated[Path, typer.Argument(help="A transcript written by `codeact agent`.")],
    tools: Annotated[str | None, typer.Option(
        "--tools", "-t", help="Toolset (default: the one the transcript names).")] = None,
    policy: Annotated[str | None, typer.Option(
        "--policy", "-p", help="Policy (default: the one the transcript names).")] = None,
    live: Annotated[bool, typer.Option(
        "--live", help="Call the tools for real. By default no tool runs: each snippet gets "
        "the results its turn recorded.")] = False,
    unsafe_no_seccomp: UnsafeOption = False,
) -> None:
    """Re-run a transcript's snippets through the current engine and compare the verdicts.

    No tool is called unless --live is given. Each run in the file is replayed in a session
    of its own."""
    from rich.table import Table

    from engine.agent.replay import ReplayRow, replay_run, split_runs
    from engine.agent.transcript import read_transcript

    if not transcript.is_file():
        _usage_error(f"no such file: {transcript}")
    try:
        records = read_transcript(transcript)
    except ValueError as exc:
        _usage_error(str(exc))
    runs = [r for r in split_runs(records) if r.header is not None]
    if not runs:
        _usage_error(f"{transcript} has no run header")
    rows: list[ReplayRow] = []
    for run in runs:
        assert run.header is not None
        registry, loaded = _load(tools or run.header.tools or None,
                                 policy or run.header.policy or "default")
        recorded = run.header.policy_digest
        if recorded and recorded != loaded.digest:
            err.print(f"[bold yellow]warning:[/] the transcript was judged by policy "
                      f"{escape(run.header.policy)!r} with digest {recorded}; "
                      f"{escape(loaded.name)!r} now has {loaded.digest}: verdicts may differ "
                      f"(`codeact policy diff` shows how)")
        eng = _engine(registry, loaded, unsafe_no_seccomp)
        try:
            rows.extend(replay_run(eng, run, live=live))
        except SandboxUnavailableError as exc:
            _usage_error(str(exc))
        finally:
            eng.close()
    first = runs[0].header
    assert first is not None
    what = f"{len(runs)} runs" if len(runs) > 1 else f"{first.mode}, {first.model}"
    table = Table(title=f"replay of {escape(str(transcript))} ({escape(what)}; "
                        f"{'live tools' if live else 'recorded tool results'})")
    columns = (["run"] if len(runs) > 1 else []) + ["turn", "recorded", "now", "same"]
    noted = any(row.note for row in rows)
    for column in columns + (["note"] if noted else []):
        table.add_column(column)
    for row in rows:
        cells = ([str(row.run)] if len(runs) > 1 else []) + [
            str(row.turn), escape(row.recorded), escape(row.now),
            "[green]yes[/]" if row.same else "[red]no[/]"]
        table.add_row(*cells, *([escape(row.note)] if noted else []))
    out.print(table)
    raise typer.Exit(0 if all(r.same for r in rows) else 1)


@app.command()
def batch(
    source: Annotated[Path, typer.Argument(
        help='A JSON-lines file of jobs: {"id", "code"} (one snippet), {"id", "snippets": '
             '[...]} (one session) or {"id", "task", "model"} (an agent run).')],
    output: Annotated[Path, typer.Option("--output", "-o",
                                         help="Where the result lines go (JSON lines).")],
    tools: ToolsOption = None,
    policy: PolicyOption = None,
    workers: Annotated[str, typer.Option(
        help="Worker processes, each with a warm engine: a number, or auto (one per core).")]
    = "auto",
    resume: Annotated[bool, typer.Option(
        help="Skip the jobs OUTPUT already answers, and append.")] = False,
    ray: Annotated[str | None, typer.Option(
        "--ray", help="Run on Ray actors instead: local (start Ray here), auto (join the "
                      "running cluster) or a cluster address. --workers then counts actors "
                      "(auto: one per CPU of the cluster).")] = None,
    unsafe_no_seccomp: UnsafeOption = False,
) -> None:
    """Run many independent jobs on every core (or a Ray cluster); one output line per input
    line."""
    from engine.batch import JobPool, count_jobs, run_batch
    from engine.workers import EnginePool, worker_count

    if not source.is_file():
        _usage_error(f"no such file: {source}")
    if not output.parent.is_dir():
        _usage_error(f"cannot write {output}: the directory {output.parent} does not exist")
    try:
        count = None if workers == "auto" else int(workers)
        size = worker_count(count or "auto")
    except ValueError:
        _usage_error(f"--workers takes a number of at least 1, or auto (got {workers!r})")
    tools = _tools_spec(tools)
    _, loaded = _load(tools, policy)  # fail here, clearly, not in every worker
    isolation: Literal["seccomp", "unsafe-no-seccomp"] = (
        "unsafe-no-seccomp" if unsafe_no_seccomp else "seccomp")
    pool: JobPool
    try:
        if ray is not None:
            from engine.distributed import RayPool

            pool = RayPool(tools, loaded, address=ray, workers=count, isolation=isolation)
        else:
            pool = EnginePool(tools, loaded, workers=size, isolation=isolation)
    except EngineError as exc:
        _usage_error(str(exc))
    size = pool.size
    total = count_jobs(source)
    try:
        if sys.stderr.isatty():
            from rich.progress import Progress

            with Progress(console=err, transient=True) as progress:
                bar = progress.add_task(f"{total} jobs on {size} workers", total=total)
                summary = run_batch(pool, source, output, resume=resume,
                                    on_done=lambda _: progress.advance(bar))
        else:
            summary = run_batch(pool, source, output, resume=resume)
    finally:
        pool.close()
    skipped = f", {summary.skipped} already done" if summary.skipped else ""
    err.print(f"{summary.jobs} jobs: {summary.ok} ok, {summary.failed} failed{skipped} "
              f"-> {escape(str(output))}")
    raise typer.Exit(0 if summary.failed == 0 else 1)


class Transport(StrEnum):
    stdio = "stdio"
    http = "http"


@app.command()
def mcp(
    tools: ToolsOption = None,
    policy: PolicyOption = None,
    transport: Annotated[Transport, typer.Option()] = Transport.stdio,
    host: Annotated[str, typer.Option(help="HTTP: address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP: port to listen on.")] = 8765,
    token: Annotated[str | None, typer.Option(
        envvar="CODEACT_MCP_TOKEN",
        help="HTTP: one bearer token required on every request (needed beyond loopback); "
             "its holders are one tenant.")] = None,
    tokens: Annotated[Path | None, typer.Option(
        help="HTTP: a TOML file with one token per tenant ([tenants] name = \"token\"); "
             "each tenant has its own sessions and quotas.")] = None,
    max_sessions: Annotated[int, typer.Option(min=1, help="Open sessions per tenant.")] = 16,
    max_concurrent: Annotated[int, typer.Option(min=1, help="Calls one tenant runs at once.")]
    = 2,
    idle_timeout: Annotated[float, typer.Option(help="Close sessions idle this long (s).")]
    = 600.0,
    workers: Annotated[int, typer.Option(
        min=0, help="Worker processes holding the sessions, each with a warm engine (0: "
                    "in this process). Tools then run in the workers.")] = 0,
    unsafe_no_seccomp: UnsafeOption = False,
) -> None:
    """Serve the engine over MCP (stdio or streamable HTTP); needs the [mcp] extra."""
    try:
        from engine.mcp_server import TenantLimits, TenantsFile, build_server, http_app
    except ImportError as exc:
        _usage_error(f"the MCP server needs the mcp extra: from a checkout of codeact-engine, "
                     f"pip install -e '.[mcp]' ({exc})")
    tenants = None
    if tokens is not None:
        try:
            tenants = TenantsFile.load(tokens)
        except ValueError as exc:
            _usage_error(str(exc))
    if transport is not Transport.stdio:
        _check_bind(host, port)
    # Over stdio, standard output is the protocol: whatever the tools print when they are
    # imported goes to standard error instead.
    with contextlib.redirect_stdout(sys.stderr):
        tools = _tools_spec(tools)
        registry, loaded = _load(tools, policy)
    # A tenant keeps at most max_concurrent workers busy (a call whose check was stopped
    # waits while its worker is replaced); one more stays for everyone else.
    eng = _engine(registry, loaded, unsafe_no_seccomp, check_workers=max_concurrent + 1)
    engines = None
    try:
        if workers:
            from engine.workers import EnginePool

            # Each worker keeps one check worker more than a tenant may occupy, as below.
            engines = EnginePool(tools, loaded, workers=workers, isolation=(
                "unsafe-no-seccomp" if unsafe_no_seccomp else "seccomp"),
                check_workers=max_concurrent + 1)
        else:
            eng.session().close()  # fail now, clearly, if the sandbox cannot run here
            eng.warm_up(all_workers=True)
    except (EngineError, SandboxUnavailableError, CheckerUnavailableError) as exc:
        eng.close()
        _usage_error(str(exc))
    limits = TenantLimits(max_sessions=max_sessions, max_concurrent=max_concurrent)
    server, pool = build_server(eng, idle_seconds=idle_timeout, limits=limits,
                                opener=engines.session if engines is not None else None)
    try:
        if transport is Transport.stdio:
            server.run()
        else:
            import uvicorn

            try:
                app = http_app(server, host=host, token=token, tenants=tenants)
            except ValueError as exc:
                _usage_error(str(exc))
            guarded = " (bearer token required)" if token or tenants else ""
            err.print(f"codeact MCP server on http://{host}:{port}/mcp{guarded}")
            uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        pool.close_all()
        if engines is not None:
            engines.close()
        eng.close()


@app.command()
def stubs(
    tools: ToolsOption = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Directory to write __init__.pyi into (else standard output).")]
    = None,
) -> None:
    """Generate the .pyi stubs of a toolset, as the type checker and the model see it."""
    from engine.stubs import render_stubs

    registry, _ = _load(tools, "default")
    if not len(registry):
        _usage_error("which tools? give --tools (or set $CODEACT_TOOLS, or tools in the "
                     "project's [tool.codeact])")
    text = render_stubs(registry)
    if output is None:
        emit(text, end="")
        return
    output.mkdir(parents=True, exist_ok=True)
    target = output / "__init__.pyi"
    target.write_text(text, encoding="utf-8")
    err.print(f"wrote {escape(str(target))}")


@app.command()
def explain(
    code: Annotated[str | None, typer.Argument(help="A code (P120) or rule name.")] = None,
) -> None:
    """Explain a diagnostic code; without a code, list them all."""
    from engine import codes, render

    if code is None:
        for entry in codes.CATALOG.values():
            out.print(f"{entry.code}  {entry.stage.value:<8} {entry.rule:<28} {entry.title}")
        return
    found = codes.lookup(code)
    if found is None:
        _usage_error(f"unknown code {code!r}; `codeact explain` lists them all")
    emit(render.explain(found))


@policy_app.command("show")
def policy_show(
    name: Annotated[str, typer.Argument(help="Bundled policy name or .toml file.")] = "default",
    as_json: Annotated[bool, typer.Option("--json", help="The resolved policy as JSON.")] = False,
) -> None:
    """Show a policy resolved (extends applied) and its rules in plain language."""
    from engine.policy.prompt import (
        render_prompt_rules,
        risky_capabilities,
        tool_permission_lines,
    )

    _, loaded = _load(None, name)
    if as_json:
        emit(loaded.model_dump_json(indent=2))
        return
    out.print(f"[bold]{escape(loaded.name)}[/]: {escape(loaded.description)}  "
              f"[dim]({escape(loaded.source)})[/]")
    for risk in risky_capabilities(loaded):
        out.print(f"[bold yellow]warning:[/] {escape(risk)}")
    emit(render_prompt_rules(loaded))
    emit("\n".join(f"- {line}" for line in tool_permission_lines(loaded)))
    emit(f"digest: {loaded.digest}")


class DiffFormat(StrEnum):
    text = "text"
    json = "json"


@policy_app.command("diff")
def policy_diff(
    old: Annotated[str, typer.Argument(help="The policy before: a bundled name or a file.")],
    new: Annotated[str, typer.Argument(help="The policy after: a bundled name or a file.")],
    output_format: Annotated[DiffFormat, typer.Option(
        "--format", "-f", help="text for people, json for bots.")] = DiffFormat.text,
    fail_on_widening: Annotated[bool, typer.Option(
        "--fail-on-widening", help="Exit 1 when a change lets a snippet do more.")] = False,
) -> None:
    """What changes from OLD to NEW, in what a snippet may do; widening changes flagged."""
    from engine.policy.diff import diff_policies

    _, before = _load(None, old)
    _, after = _load(None, new)
    diff = diff_policies(before, after)
    emit(diff.to_json() if output_format is DiffFormat.json else diff.render_text(), end="")
    if output_format is DiffFormat.json:
        emit("")
    raise typer.Exit(1 if fail_on_widening and diff.widens else 0)


class CasesFormat(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"


@policy_app.command("test")
def policy_test(
    cases: Annotated[Path, typer.Argument(help="A TOML file of cases: snippets with the "
                                          "verdict each must get.")],
    tools: Annotated[str | None, typer.Option(
        "--tools", "-t", help="Toolset (else the file's `tools`).")] = None,
    policy: Annotated[str | None, typer.Option(
        "--policy", "-p", help="Policy (else the file's `policy`, else default).")] = None,
    output_format: Annotated[CasesFormat, typer.Option(
        "--format", "-f", help="text, json, or junit for CI.")] = CasesFormat.text,
    verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                          help="List passing cases too.")] = False,
) -> None:
    """Run policy test cases; exit 1 if any case gets another verdict than it expects."""
    from engine.policy.cases import CaseFileError, render_report, run_cases

    try:
        report = run_cases(cases, policy=policy, tools=tools)
    except CaseFileError as exc:
        _usage_error(str(exc))
    except PolicyError as exc:
        lines = "\n".join(f"  {issue}" for issue in exc.issues)
        _usage_error(f"invalid policy:\n{lines}")
    except EngineError as exc:
        _usage_error(str(exc))
    for warning in report.warnings:
        err.print(f"[bold yellow]warning:[/] {escape(warning)}")
    rendered = render_report(report, output_format.value, verbose=verbose)
    emit(rendered if rendered.endswith("\n") else rendered + "\n", end="")
    raise typer.Exit(0 if report.ok else 1)


@policy_app.command("validate")
def policy_validate(files: Annotated[list[str], typer.Argument(help="Policy files.")]) -> None:
    """Validate policy files, every one; exit 2 and name the key and file of every problem.

    Also warns about allowed modules this Python cannot import, and what a policy opens."""
    from engine.policy.model import Policy
    from engine.policy.prompt import risky_capabilities, unimportable_modules

    failed = False
    for file in files:
        try:
            loaded = Policy.load(file)
        except PolicyError as exc:
            failed = True
            for issue in exc.issues:
                err.print(f"[bold red]error:[/] {escape(str(issue))}")
            continue
        for name in unimportable_modules(loaded):
            err.print(f"[bold yellow]warning:[/] {escape(file)}: imports.allow: the module "
                      f"{escape(repr(name))} cannot be imported here; snippets that import it "
                      "will fail")
        for risk in risky_capabilities(loaded):
            err.print(f"[bold yellow]warning:[/] {escape(file)}: {escape(risk)}")
        out.print(f"{escape(file)}: ok")
    if failed:
        raise typer.Exit(2)


def main() -> None:
    if _command(sys.argv[1:]) == "check":
        # The check worker's process first, even before typer reads the command line (it
        # imports pydantic to do so): the worker's imports (the parser, mypy) and the
        # command's (pydantic, the engine, the tools' module) then take their time side by
        # side. The next check worker a pool starts is this one.
        prestart()
    app()


def _command(arguments: list[str]) -> str | None:
    """The command a command line names: its first word that is not an option (the
    top-level options take no value)."""
    return next((a for a in arguments if not a.startswith("-")), None)


if __name__ == "__main__":
    main()
