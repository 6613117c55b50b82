"""The stdio MCP server over the official SDK's low-level `Server`: it lists `tools.TOOLS` with their schemas
and answers a call with the document as JSON text (what `-o json` prints) and as structured content, or with
an error result carrying the CLI's one-line message. Calls run one at a time in a worker thread, so the event
loop keeps answering pings and cancellations while a big capture decodes."""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from ambientctl import __version__
from ambientctl.mcp.tools import TOOLS, Context, call

INSTRUCTIONS = (
    "ambientctl answers questions about an Istio ambient mode mesh without sending traffic: how a pod, a "
    "service or a waypoint is meshed and bound (describe_pod, describe_service, describe_waypoint), why a request from A to B is allowed, denied or hairpinned and by which policy and rule "
    "(explain, explain_matrix), and what saved evidence shows (decode, logs_parse, trace_from, "
    "bundle_manifest). Every tool is read-only; results are ambientctl's JSON documents (apiVersion "
    "ambientctl/v1)."
)
READ_ONLY = types.ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                  open_world_hint=False)


def build_server(ctx: Context) -> Server[Any]:
    lock = anyio.Lock()

    async def list_tools(_rctx: Any, _params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[
            types.Tool(name=t.name, title=t.title, description=t.description, input_schema=t.schema,
                       annotations=READ_ONLY)
            for t in TOOLS
        ])

    async def call_tool(_rctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        async with lock:  # one answer at a time: the cached cluster view is shared
            doc, text, is_error = await anyio.to_thread.run_sync(partial(call, ctx, params.name, params.arguments))
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                    structured_content=doc, is_error=is_error)

    return Server("ambientctl", version=__version__, instructions=INSTRUCTIONS, on_list_tools=list_tools,
                  on_call_tool=call_tool)


def serve(ctx: Context) -> None:
    server = build_server(ctx)

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)
