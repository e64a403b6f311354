"""An MCP client session against `codeact mcp` over stdio, with the SDK's own client.
Run: python examples/mcp_client.py   (needs the [mcp] extra)"""

from __future__ import annotations

import sys

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client


async def main() -> None:
    server = StdioServerParameters(command=sys.executable, args=[
        "-m", "engine.cli", "mcp", "--tools", "examples.toolsets.users"])
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        print("tools:", [t.name for t in (await session.list_tools()).tools])
        result = await session.call_tool("run", {"code": "n = len(get_all_users())\nprint(n)"})
        print("run:", result.structured_content)
        refused = await session.call_tool("run", {"code": "import os"})
        assert refused.is_error and refused.structured_content is not None
        print("refused:", refused.structured_content["diagnostics"][0]["message"])


if __name__ == "__main__":
    anyio.run(main)
