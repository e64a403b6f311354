"""``codeact batch``: many independent jobs from a JSON-lines file, on every worker.

Each input line is one job::

    {"id": 1, "code": "..."}                       one snippet, in a session of its own
    {"id": 2, "snippets": ["...", "..."]}          snippets of one session, in order
    {"id": 3, "task": "...", "model": "qwen..."}   an agent run on a local model (Ollama;
                                                   "backend": "openai" and "host" for an
                                                   OpenAI-compatible server)

and gets exactly one output line with its ``id``: the run results in the ``codeact.run/v1``
shape (``{"id", "schema", "ok", "runs": [...]}``), an agent's answer
(``codeact.agent/v1``), or, for a line that is not a job or a job whose worker died,
``{"id", "line", "ok": false, "error"}``. Lines are written as jobs finish (the order may
differ) and flushed, so an interrupted batch loses nothing done; ``resume`` skips the jobs
the output already answers (by line and id).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from engine.agent.model import BackendName
from engine.errors import EngineError
from engine.render import RUN_SCHEMA_ID
from engine.results import RunResult
from engine.workers import AgentOutcome

AGENT_SCHEMA_ID = "codeact.agent/v1"


class JobSession(Protocol):
    def run(self, source: str) -> RunResult: ...

    def __enter__(self) -> JobSession: ...

    def __exit__(self, *exc: object) -> None: ...


class JobPool(Protocol):
    """What runs the jobs: an ``EnginePool`` (this machine) or a ``RayPool`` (a cluster)."""

    size: int

    def session(self) -> JobSession: ...

    def agent(self, task: str, *, model: str, max_turns: int = 10, host: str | None = None,
              backend: BackendName = "ollama") -> AgentOutcome: ...

    def close(self) -> None: ...


class BatchJob(BaseModel):
    """One input line."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str | int
    code: str | None = None
    snippets: list[str] | None = None
    task: str | None = None
    model: str | None = None
    backend: BackendName = "ollama"
    host: str | None = None
    max_turns: int = 10

    @model_validator(mode="after")
    def _one_kind(self) -> BatchJob:
        given = [k for k in ("code", "snippets", "task") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError('give exactly one of "code", "snippets" or "task"')
        if self.task is not None and not self.model:
            raise ValueError('an agent task needs "model" (the model\'s name on its server)')
        return self


@dataclass(frozen=True)
class BatchSummary:
    jobs: int
    ok: int
    failed: int
    skipped: int  # already in the output (resume)


def _key(job_id: object, line: int) -> str:
    """What identifies a job across runs: its line and its id (ids may repeat; a line
    number alone would match another job if the input changed)."""
    return f"{line}:{json.dumps(job_id)}"


def done_keys(output: Path) -> set[str]:
    """The jobs an earlier, possibly interrupted, run already answered."""
    keys: set[str] = set()
    if not output.exists():
        return keys
    # A line an interruption cut short may end inside a character: it is not read as JSON
    # anyway, and that job runs again.
    with output.open(encoding="utf-8", errors="replace") as handle:
        for text in handle:
            try:
                record = json.loads(text)
            except (ValueError, RecursionError):
                continue
            if isinstance(record, dict) and isinstance(record.get("line"), int):
                keys.add(_key(record.get("id"), record["line"]))
    return keys


def read_jobs(path: Path) -> Iterator[tuple[int, BatchJob | dict[str, Any]]]:
    """Each line's number and job, or the error line it gets instead."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield number, _error(None, number, f"not UTF-8 text: {exc}")
                continue
            except RecursionError:
                yield number, _error(None, number, "not a job: JSON nested too deeply")
                continue
            except ValueError as exc:
                yield number, _error(None, number, f"not JSON: {exc}")
                continue
            try:
                yield number, BatchJob.model_validate(data)
            except ValidationError as exc:
                job_id = data.get("id") if isinstance(data, dict) else None
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'line'}: {e['msg']}"
                    for e in exc.errors(include_url=False))
                yield number, _error(job_id if isinstance(job_id, (str, int)) else None,
                                     number, f"not a job: {problems}")


def _error(job_id: object, line: int, message: str) -> dict[str, Any]:
    return {"id": job_id, "line": line, "ok": False, "error": message}


def run_job(pool: JobPool, job: BatchJob, line: int) -> dict[str, Any]:
    """The output line of one job; never raises for what the job does."""
    try:
        if job.task is not None:
            assert job.model is not None
            answer = pool.agent(job.task, model=job.model, max_turns=job.max_turns,
                                host=job.host, backend=job.backend)
            return {"id": job.id, "line": line, "schema": AGENT_SCHEMA_ID,
                    **answer.model_dump(mode="json")}
        sources = [job.code] if job.code is not None else list(job.snippets or [])
        runs = []
        with pool.session() as session:
            for source in sources:
                runs.append(session.run(source).model_dump(mode="json"))
        return {"id": job.id, "line": line, "schema": RUN_SCHEMA_ID,
                "ok": all(r["ok"] for r in runs), "runs": runs}
    except EngineError as exc:  # a worker died, or could not be started
        return _error(job.id, line, str(exc))
    except Exception as exc:  # anything else: this job's line says so, the batch goes on
        return _error(job.id, line, f"{type(exc).__name__}: {exc}")


def run_batch(pool: JobPool, source: Path, output: Path, *, resume: bool = False,
              on_done: Callable[[dict[str, Any]], None] | None = None,
              concurrency: int | None = None) -> BatchSummary:
    """Run every job of ``source`` on ``pool``, appending one line per job to ``output``."""
    skip = done_keys(output) if resume else set()
    lock = threading.Lock()
    counts = {"jobs": 0, "ok": 0, "failed": 0, "skipped": 0}
    mode = "a" if resume else "w"
    cut_short = resume and output.exists() and _last_byte(output) not in (b"", b"\n")
    with output.open(mode, encoding="utf-8") as sink, \
            ThreadPoolExecutor(concurrency or 2 * pool.size) as executor:
        def emit(record: dict[str, Any], handle: IO[str] = sink) -> None:
            with lock:
                # ASCII: an id or output holding a lone surrogate is still written (escaped).
                handle.write(json.dumps(record) + "\n")
                handle.flush()
                counts["ok" if record.get("ok") else "failed"] += 1
            if on_done is not None:
                on_done(record)

        def work(job: BatchJob, line: int) -> None:
            emit(run_job(pool, job, line))

        if cut_short:  # an interrupted run's last line: end it, so the next line is whole
            sink.write("\n")
        futures = []
        for line, job in read_jobs(source):
            counts["jobs"] += 1
            job_id = job.id if isinstance(job, BatchJob) else job.get("id")
            if _key(job_id, line) in skip:
                counts["skipped"] += 1
                continue
            if isinstance(job, BatchJob):
                futures.append(executor.submit(work, job, line))
            else:
                emit(job)
        for future in futures:
            future.result()
    return BatchSummary(counts["jobs"], counts["ok"], counts["failed"], counts["skipped"])


def _last_byte(path: Path) -> bytes:
    with path.open("rb") as handle:
        handle.seek(0, 2)
        if handle.tell() == 0:
            return b""
        handle.seek(-1, 2)
        return handle.read(1)


def count_jobs(source: Path) -> int:
    with source.open("rb") as handle:
        return sum(1 for raw in handle if raw.strip())


__all__ = [
    "AGENT_SCHEMA_ID",
    "BatchJob",
    "BatchSummary",
    "JobPool",
    "count_jobs",
    "done_keys",
    "read_jobs",
    "run_batch",
    "run_job",
]
