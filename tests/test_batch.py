"""`EnginePool` and `codeact batch`: sessions pinned to worker processes, one output line per
input line, resumable, agent jobs against a loopback Ollama API."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.sandbox.limits import unavailable_reason
from engine.testing.fake_ollama import FakeOllama
from engine.workers import EnginePool, WorkerLostError, _Worker

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason="seccomp unavailable")
runner = CliRunner()
USERS = "examples.toolsets.users"

JOBS = [
    {"id": 1, "code": "final_answer(len(get_all_users()))"},
    {"id": "two", "snippets": ["n = 2", "final_answer(n * 21)"]},
    {"id": 3, "code": "import os"},
    {"id": 4, "snippets": ["x = 1", "final_answer(x / 0)"]},
]


@pytest.fixture(scope="module")
def pool() -> Iterator[EnginePool]:
    with EnginePool(USERS, "default", workers=2) as engines:
        yield engines


def write_jobs(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def results(path: Path) -> dict[object, dict[str, object]]:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    keyed = {r["id"] if r["id"] is not None else f"line {r['line']}": r for r in records}
    assert len(keyed) == len(records), "a job answered twice"
    return keyed


def test_sessions_are_pinned_to_a_worker_and_keep_their_names(pool: EnginePool) -> None:
    first, second = pool.session(), pool.session()
    try:
        assert first.worker_pid != second.worker_pid  # spread over both workers
        assert first.run("mine = 'first'").ok and second.run("mine = 'second'").ok
        for _ in range(3):
            assert first.run("final_answer(mine)").value == "first"
            assert second.run("final_answer(mine)").value == "second"
    finally:
        first.close()
        second.close()


def test_a_dead_worker_loses_its_sessions_and_is_replaced(pool: EnginePool) -> None:
    session = pool.session()
    assert session.run("x = 1").ok
    os.kill(session.worker_pid, signal.SIGKILL)
    with pytest.raises(WorkerLostError):
        session.run("final_answer(x)")
    session.close()
    for _ in range(pool.size):  # every worker answers again, the replaced one too
        with pool.session() as fresh:
            assert fresh.run("final_answer(len(get_all_users()))").value == 10_000


def test_a_send_that_fails_loses_the_worker_without_a_deadlock(pool: EnginePool) -> None:
    """A worker found dead by a failed send (before its reader noticed) must raise, not hang:
    marking it lost takes the lock the send holds (found hanging in this suite)."""
    session = pool.session()
    assert session.run("x = 1").ok
    link = session._link
    assert isinstance(link, _Worker)
    os.kill(session.worker_pid or 0, signal.SIGKILL)
    link.conn.close()  # the next send fails at once, inside the send lock
    outcome: list[BaseException] = []
    thread = threading.Thread(target=lambda: _capture(outcome, session.run, "final_answer(x)"),
                              daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "run() deadlocked on the worker's send lock"
    assert outcome and isinstance(outcome[0], WorkerLostError)
    session.close()


def _capture(into: list[BaseException], call: Callable[..., object], *args: object) -> None:
    try:
        call(*args)
    except BaseException as exc:  # the test inspects it
        into.append(exc)


def test_batch_answers_every_line_once(tmp_path: Path) -> None:
    source = write_jobs(tmp_path / "in.jsonl",
                        [json.dumps(j) for j in JOBS] + ["not json", '{"id": 6}', ""])
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["batch", str(source), "-o", str(out), "--tools", USERS,
                                 "--workers", "2"])
    assert result.exit_code == 1, result.output  # some jobs fail, as they should
    found = results(out)
    assert set(found) == {1, "two", 3, 4, "line 5", 6}
    assert found[1]["ok"] is True and found[1]["runs"][0]["value"] == 10_000  # type: ignore[index]
    assert found["two"]["schema"] == "codeact.run/v1"
    assert [r["value"] for r in found["two"]["runs"]] == [None, 42]  # type: ignore[attr-defined]
    assert found[3]["ok"] is False
    assert found[3]["runs"][0]["diagnostics"][0]["code"] == "P101"  # type: ignore[index]
    assert found[4]["runs"][1]["diagnostics"][0]["code"] == "R101"  # type: ignore[index]
    assert "not JSON" in str(found["line 5"]["error"])
    assert "exactly one of" in str(found[6]["error"])
    assert "6 jobs: 2 ok, 4 failed" in result.output


def test_resume_runs_only_what_is_missing(tmp_path: Path) -> None:
    source = write_jobs(tmp_path / "in.jsonl", [json.dumps(j) for j in JOBS])
    out = tmp_path / "out.jsonl"
    assert runner.invoke(app, ["batch", str(source), "-o", str(out), "--tools", USERS,
                               "--workers", "1"]).exit_code == 1
    done = out.read_text().splitlines()
    out.write_text(done[0] + "\n" + done[1][:20])  # interrupted in the middle of a line
    result = runner.invoke(app, ["batch", str(source), "-o", str(out), "--tools", USERS,
                                 "--workers", "1", "--resume"])
    assert "1 already done" in result.output, result.output
    complete = [line for line in out.read_text().splitlines() if line.endswith("}")]
    ids = sorted(str(json.loads(line)["id"]) for line in complete)
    assert ids == ["1", "3", "4", "two"]


def test_an_agent_job_runs_in_a_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reply = "```python\nfinal_answer(len([u for u in get_all_users() if u.active]))\n```"
    source = write_jobs(tmp_path / "in.jsonl", [json.dumps(
        {"id": "agent", "task": "How many users are active?", "model": "qwen2.5-coder:1.5b"})])
    out = tmp_path / "out.jsonl"
    with FakeOllama([reply]) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)  # the worker reads it, as a user's would
        result = runner.invoke(app, ["batch", str(source), "-o", str(out), "--tools", USERS,
                                     "--workers", "1"])
    assert result.exit_code == 0, result.output
    answer = results(out)["agent"]
    assert answer["schema"] == "codeact.agent/v1" and answer["stop_reason"] == "final_answer"
    assert isinstance(answer["value"], int) and 0 < answer["value"] < 10_000
    assert server.chats and "How many users are active?" in json.dumps(server.chats[0])


def test_an_agent_job_on_an_openai_compatible_server(tmp_path: Path) -> None:
    reply = "```python\nfinal_answer(len([u for u in get_all_users() if u.active]))\n```"
    out = tmp_path / "out.jsonl"
    with FakeOllama([reply]) as server:
        source = write_jobs(tmp_path / "in.jsonl", [json.dumps(
            {"id": "agent", "task": "How many users are active?", "model": "qwen2.5-coder:1.5b",
             "backend": "openai", "host": server.url + "/v1"})])
        result = runner.invoke(app, ["batch", str(source), "-o", str(out), "--tools", USERS,
                                     "--workers", "1"])
    assert result.exit_code == 0, result.output
    answer = results(out)["agent"]
    assert answer["stop_reason"] == "final_answer" and isinstance(answer["value"], int)
    assert [r["path"] for r in server.requests] == ["/v1/chat/completions"]


def test_usage_errors(tmp_path: Path) -> None:
    assert runner.invoke(app, ["batch", str(tmp_path / "none.jsonl"), "-o",
                               str(tmp_path / "o.jsonl")]).exit_code == 2
    source = write_jobs(tmp_path / "in.jsonl", [json.dumps(JOBS[0])])
    bad = runner.invoke(app, ["batch", str(source), "-o", str(tmp_path / "o.jsonl"),
                              "--workers", "zero"])
    assert bad.exit_code == 2 and "--workers" in bad.output
    missing = runner.invoke(app, ["batch", str(source), "-o", str(tmp_path / "no/o.jsonl")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_async_sessions_run_side_by_side(pool: EnginePool) -> None:
    import asyncio

    from engine import Engine, load_tools

    async def main(engine: Engine) -> list[object]:
        local = [engine.session() for _ in range(3)]
        pooled = [pool.session() for _ in range(3)]
        try:
            runs = [s.arun(f"final_answer({i} * 2)") for i, s in enumerate(local + pooled)]
            return [r.value for r in await asyncio.gather(*runs)]
        finally:
            for s in local:
                s.close()
            for p in pooled:
                p.close()

    engine = Engine(load_tools(USERS), "default")
    try:
        assert asyncio.run(main(engine)) == [0, 2, 4, 6, 8, 10]
    finally:
        engine.close()


def test_cancelling_an_async_run_interrupts_the_snippet() -> None:
    import asyncio

    from engine import Engine

    async def main(engine: Engine) -> list[str]:
        with engine.session() as session:
            assert (await session.arun("kept = 5")).ok
            task = asyncio.ensure_future(session.arun("while True:\n    pass"))
            await asyncio.sleep(0.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            after = await session.arun("final_answer(kept)")
            return [str(after.value)]

    from engine import Policy

    default = Policy.load("default")
    patient = default.model_copy(update={"limits": default.limits.model_copy(
        update={"timeout_seconds": 120.0, "cpu_seconds": 120.0})})
    engine = Engine([], patient)  # without the interrupt the loop would run for 120 s
    try:
        assert asyncio.run(asyncio.wait_for(main(engine), 60)) == ["5"]
    finally:
        engine.close()


def test_hostile_input_lines_each_get_an_error_line(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join([
        b"[" * 100_000,                                            # nested past any parser
        b'{"id": "bad-utf8", "code": "x = 1"} \xff\xfe',           # not UTF-8
        b'{"id": "\\ud800", "code": "final_answer(1)"}',           # an id that is not text
        b'{"id": 7, "code": "x = 1  # \\udc00"}',                  # a snippet that is not text
        b'{"id": 8, "code": "final_answer(8)"}',
    ]) + b"\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["batch", str(source), "-o", str(out), "--tools", USERS,
                                 "--workers", "1"])
    assert result.exit_code == 1, result.output
    records = sorted((json.loads(line) for line in out.read_text().splitlines()),
                     key=lambda r: r["line"])
    assert [r["line"] for r in records] == [1, 2, 3, 4, 5]  # one line each, none lost
    assert "nested too deeply" in records[0]["error"]
    assert "not UTF-8" in records[1]["error"]
    assert records[2]["id"] == "\ud800" and records[2]["ok"] is True
    assert records[3]["runs"][0]["diagnostics"][0]["code"] == "S001"
    assert records[4]["runs"][0]["value"] == 8


def test_resume_tells_repeated_ids_apart(tmp_path: Path) -> None:
    source = write_jobs(tmp_path / "in.jsonl", [
        json.dumps({"id": 1, "code": "final_answer('first')"}),
        json.dumps({"id": 1, "code": "final_answer('second')"})])
    out = tmp_path / "out.jsonl"
    assert runner.invoke(app, ["batch", str(source), "-o", str(out), "--tools", USERS,
                               "--workers", "1"]).exit_code == 0
    first = next(line for line in out.read_text().splitlines() if '"line": 1' in line)
    out.write_text(first + "\n" + '{"id": 1, "line": 2, "ok": true, "runs": [{"value": "caf'
                   + "\xc3")  # cut inside a character
    with out.open("ab") as handle:  # make that last byte a broken UTF-8 sequence
        handle.write(b"\xc3")
    result = runner.invoke(app, ["batch", str(source), "-o", str(out), "--tools", USERS,
                                 "--workers", "1", "--resume"])
    assert result.exit_code == 0 and "1 already done" in result.output, result.output
    values = [json.loads(line)["runs"][0]["value"]
              for line in out.read_text(errors="replace").splitlines()
              if line.startswith("{") and line.endswith("}")]
    assert sorted(values) == ["first", "second"]


def test_interrupting_a_pooled_run_stops_it_in_its_worker() -> None:
    import asyncio
    import threading

    from engine import Policy

    default = Policy.load("default")
    patient = default.model_copy(update={"limits": default.limits.model_copy(
        update={"timeout_seconds": 120.0, "cpu_seconds": 120.0})})
    with EnginePool(USERS, patient, workers=1) as engines, engines.session() as session:
        assert session.run("kept = 5").ok
        results: list[object] = []
        runner_thread = threading.Thread(
            target=lambda: results.append(session.run("while True:\n    pass")))
        runner_thread.start()
        threading.Timer(0.5, session.interrupt).start()
        runner_thread.join(60)
        assert results, "the interrupt did not reach the worker"
        stopped = results[0]
        assert [d.code for d in stopped.diagnostics][:1] == ["R215"]  # type: ignore[attr-defined]

        async def cancelled() -> object:
            task = asyncio.ensure_future(session.arun("while True:\n    pass"))
            await asyncio.sleep(0.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return (await asyncio.wait_for(session.arun("final_answer(kept)"), 60)).value

        assert asyncio.run(cancelled()) == 5  # within 60 s, not the 120 s limit


def test_a_stuck_worker_is_stopped_not_waited_for() -> None:
    with EnginePool(USERS, "default", workers=1, answer_seconds=3) as engines:
        session = engines.session()
        assert session.run("x = 1").ok
        os.kill(session.worker_pid, signal.SIGSTOP)  # stuck: alive, but never answers
        with pytest.raises(WorkerLostError, match="did not answer within 3 s"):
            session.run("final_answer(x)")
        session.close()
        with engines.session() as fresh:  # a new worker took its place
            assert fresh.run("final_answer(2)").value == 2
