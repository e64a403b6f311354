"""One MCP tenant attacks, another works: the honest tenant's latency, alone and under attack.

    python benchmarks/mcp_tenants.py [--calls 60]

A real streamable-HTTP server on 127.0.0.1 with two tenants (one token each), driven by the
MCP SDK's own client. The honest tenant runs a small snippet with two tool calls again and
again; the hostile one, at the same time, keeps its two concurrent calls busy with snippets
that mypy would need minutes to check (each refused after ``limits.check_seconds``, its check
worker killed and replaced). The table gives the honest tenant's p50/p95 per phase and the
ratio to the quiet phase, measured in this one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import anyio
import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.check_latency import percentile  # noqa: E402
from engine import Engine, Policy, load_tools  # noqa: E402
from engine.mcp_server import TenantLimits, build_server, http_app  # noqa: E402
from engine.testing.asgi import serve_on_loopback  # noqa: E402

TENANTS = {"honest": "honest-token-0123456789", "hostile": "hostile-token-0123456789"}
HONEST = "u = get_user(1)\nn = len(get_all_users())\nprint(n)"
COSTLY = ("x = list(map(lambda a: list(map(lambda b: list(map(lambda c: list(map(lambda d: "
          "list(map(lambda e: e, d)), c)), b)), a)), [[[[[1]]]]]))")


async def measure(url: str, calls: int) -> dict[str, list[float]]:
    phases: dict[str, list[float]] = {"quiet": [], "under attack": []}
    stop = anyio.Event()
    costly_done = [0]

    async def hostile() -> None:
        async with (httpx2.AsyncClient(headers={"Authorization": f"Bearer {TENANTS['hostile']}"},
                                       timeout=60) as http,
                    streamable_http_client(url, http_client=http) as (read, write),
                    ClientSession(read, write) as client):
            await client.initialize()

            async def loop(name: str) -> None:
                while not stop.is_set():
                    result = await client.call_tool("check", {"code": COSTLY, "session": name})
                    assert result.structured_content is not None
                    costly_done[0] += 1

            async with anyio.create_task_group() as group:
                group.start_soon(loop, "a")
                group.start_soon(loop, "b")

    async with (httpx2.AsyncClient(headers={"Authorization": f"Bearer {TENANTS['honest']}"},
                                   timeout=60) as http,
                streamable_http_client(url, http_client=http) as (read, write),
                ClientSession(read, write) as client):
        await client.initialize()
        for _ in range(5):
            await client.call_tool("run", {"code": HONEST})

        async def honest(phase: str) -> None:
            for _ in range(calls):
                started = time.perf_counter()
                result = await client.call_tool("run", {"code": HONEST})
                phases[phase].append((time.perf_counter() - started) * 1000)
                assert not result.is_error, result

        await honest("quiet")
        async with anyio.create_task_group() as group:
            group.start_soon(hostile)
            await anyio.sleep(0.5)
            await honest("under attack")
            stop.set()
    print(f"hostile checks refused during the attack: {costly_done[0]}")
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=60)
    args = parser.parse_args()
    engine = Engine(load_tools("examples.toolsets.users"), Policy.load("default"),
                    check_workers=3)
    engine.warm_up(all_workers=True)
    server, pool = build_server(engine, limits=TenantLimits(max_concurrent=2))
    app = http_app(server, host="127.0.0.1", tenants=TENANTS)
    try:
        with serve_on_loopback(app) as base:
            phases = anyio.run(measure, f"{base}/mcp", args.calls)
    finally:
        pool.close_all()
        engine.close()
    table = Table(title="honest tenant's `run` latency over MCP (ms)")
    for column in ("phase", "calls", "p50", "p95", "p50 / quiet p50"):
        table.add_column(column, justify="right")
    quiet = statistics.median(phases["quiet"])
    for phase, values in phases.items():
        table.add_row(phase, str(len(values)), f"{statistics.median(values):.1f}",
                      f"{percentile(values, 0.95):.1f}",
                      f"{statistics.median(values) / quiet:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
