"""`ambientctl mcp`: serve describe, explain, the namespace matrix, decode, logs parse, saved traces and bundle
manifests as read-only MCP tools over stdio, for AI assistants (docs/mcp.md). The cluster source is chosen
here, once, never by a tool call. The MCP SDK is an optional extra, imported only when the server starts."""

from __future__ import annotations

import argparse

from ambientctl.cli.options import add_source_options


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mcp",
        help="serve ambientctl's answers to AI assistants (Model Context Protocol, stdio)",
        description="Run a Model Context Protocol server on standard input/output so an AI assistant can ask "
        "ambientctl: describe_pod, describe_service, describe_waypoint, explain, explain_matrix, decode, logs_parse, trace_from and bundle_manifest, "
        "each returning the JSON document the CLI prints with -o json. Every tool is read-only: the cluster "
        "source is fixed by the options below when the server starts, nothing attaches to or changes the "
        "cluster (no live capture or trace), and file arguments are read only from inside --root. Needs the "
        "optional MCP SDK: pip install 'ambientctl[mcp]'.",
        epilog="Register it with an assistant, e.g. claude mcp add ambientctl -- ambientctl mcp --context prod "
        "(see docs/mcp.md). Try it: ambientctl mcp --demo. Exit status: 1 when the source cannot be read at "
        "startup or the SDK is missing.",
    )
    p.add_argument("--root", metavar="DIR",
                   help="directory the file tools (decode, logs_parse, trace_from, bundle_manifest) may read "
                   "from (default: the current directory)")
    add_source_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import importlib.util

    from ambientctl.errors import InputError
    from ambientctl.mcp.tools import Context, file_root

    missing = InputError("the MCP server needs the optional MCP SDK", hint="pip install 'ambientctl[mcp]'")
    if importlib.util.find_spec("mcp") is None:  # cheap; the SDK itself takes a second or more to import
        raise missing
    ctx = Context(args, file_root(args.root))
    ctx.load()  # a source that cannot be read fails now, with the CLI's one-line message
    try:
        from ambientctl.mcp.server import serve
    except ModuleNotFoundError as e:
        if (e.name or "").partition(".")[0] not in ("mcp", "mcp_types", "anyio"):
            raise
        raise missing from None
    serve(ctx)
    return 0
