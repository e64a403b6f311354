"""Workers as Ray actors, on a real local Ray cluster (never a mock): a batch answers every
line, a killed actor's sessions are reported lost and the rest finish, --resume works."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.sandbox.limits import unavailable_reason
from engine.workers import WorkerLostError

ray: Any = pytest.importorskip("ray")
pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason="seccomp unavailable")

from engine.distributed import RayPool  # noqa: E402

runner = CliRunner()
USERS = "examples.toolsets.users"


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """One local Ray instance for the module: starting one costs seconds. Four logical CPUs:
    the module's pool holds two actors while a batch starts two more."""
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def pool(cluster: None) -> Iterator[RayPool]:
    with RayPool(USERS, "default", workers=2) as actors:
        yield actors


def test_sessions_live_on_actors_and_keep_their_names(pool: RayPool) -> None:
    with pool.session() as first, pool.session() as second:
        assert first.run("mine = len(get_all_users())").ok
        assert second.run("mine = 'second'").ok
        assert first.run("final_answer(mine)").value == 10_000
        assert second.run("final_answer(mine)").value == "second"
        assert first.check("print(mine + 1)").ok and not second.check("print(mine + 1)").ok


def test_a_killed_actor_loses_its_sessions_and_the_rest_finish(pool: RayPool) -> None:
    doomed, kept = pool.session(), pool.session()
    try:
        assert doomed.run("x = 1").ok and kept.run("x = 2").ok
        ray.kill(doomed._link.handle, no_restart=True)  # type: ignore[attr-defined]
        with pytest.raises(WorkerLostError, match="Ray actor"):
            doomed.run("final_answer(x)")
        assert kept.run("final_answer(x)").value == 2  # on the other actor
    finally:
        doomed.close()
        kept.close()
    for _ in range(pool.size):  # a new actor took the dead one's place
        assert pool.run("final_answer(len(get_all_users()))").value == 10_000


def test_actors_that_cannot_be_placed_are_an_error_not_a_wait(cluster: None) -> None:
    from engine.errors import EngineError

    with pytest.raises(EngineError, match="free CPU"):
        RayPool(USERS, "default", workers=8, start_timeout=5)


def test_batch_on_ray_answers_every_line_and_resumes(cluster: None, tmp_path: Path) -> None:
    jobs = [{"id": i, "code": f"final_answer({i} * 2)"} for i in range(12)]
    jobs.append({"id": "session", "snippets": ["n = 20", "final_answer(n + 1)"]})
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(j) + "\n" for j in jobs) + "not json\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["batch", str(source), "-o", str(out), "--tools", USERS,
                                 "--ray", "local", "--workers", "2"])
    assert result.exit_code == 1, result.output  # the bad line fails, as it should
    records = [json.loads(line) for line in out.read_text().splitlines()]
    values = {r["id"]: r["runs"][-1]["value"] for r in records if r.get("runs")}
    assert values == {**{i: i * 2 for i in range(12)}, "session": 21}
    assert [r["line"] for r in records if not r["ok"]] == [14]

    kept = out.read_text().splitlines()[:5]
    out.write_text("\n".join(kept) + "\n")
    again = runner.invoke(app, ["batch", str(source), "-o", str(out), "--tools", USERS,
                                "--ray", "local", "--workers", "2", "--resume"])
    assert "5 already done" in again.output, again.output
    ids = [json.loads(line).get("id") for line in out.read_text().splitlines()]
    assert sorted(map(str, ids)) == sorted(map(str, [*range(12), "session", None]))


def test_agent_task_suite_fans_out_over_actors(cluster: None, tmp_path: Path) -> None:
    """benchmarks/agent_tasks/run.py --ray: the scripted suite on two actors scores as it does
    in this process (each actor answers from a loopback model server of its own), and the
    transcripts come back to this machine."""
    from benchmarks.agent_tasks.run import run_suite, scripted_replies
    from benchmarks.agent_tasks.tasks import TASKS

    # Tasks that change the users' state next to ones that read it: whichever actor runs a
    # task, it starts from the toolset's initial state.
    tasks = [t for t in TASKS if t.toolset.endswith("users")][:6]
    modes = ["codeact-structured", "json"]
    local = run_suite(tasks, modes, script_for=scripted_replies)
    fanned = run_suite(tasks, modes, script_for=scripted_replies, transcripts=tmp_path,
                       ray_address="local", actors=2)

    def essence(scores: list[Any]) -> list[tuple[Any, ...]]:
        return [(s.task, s.mode, s.success, s.answer, s.expected, s.turns, s.fixed_after)
                for s in scores]

    assert essence(fanned) == essence(local)
    assert all(s.success for s in fanned)
    assert len(list(tmp_path.glob("*/*.jsonl"))) == len(tasks) * len(modes)
    assert ray.is_initialized()  # the module's cluster was joined, not shut down


def test_an_interrupt_reaches_an_actor_whose_request_threads_are_busy(pool: RayPool) -> None:
    """Interrupts go to the actor's own concurrency group, not behind the runs they stop."""
    import threading

    from engine.distributed import ACTOR_CONCURRENCY

    # More sleepers than both actors have request threads: each actor's are all busy.
    sessions = [pool.session() for _ in range(pool.size * ACTOR_CONCURRENCY + 2)]
    results: list[Any] = []
    try:
        runners = [threading.Thread(target=lambda s=s: results.append(
            s.run("import time\ntime.sleep(60)"))) for s in sessions]
        for runner in runners:
            runner.start()
        import time
        time.sleep(3)
        for session in sessions:
            session.interrupt()
        for runner in runners:
            runner.join(50)  # well before the sleeps would end
        assert len(results) == len(sessions)
        assert all(r.diagnostics and r.diagnostics[0].code == "R215" for r in results)
    finally:
        for session in sessions:
            session.close()
