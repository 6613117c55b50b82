"""`ambientctl ui` (and `ambientctl` alone on a terminal): the interactive app — browse namespaces and pods,
describe a pod, mark two and explain the pair. Textual is imported only when the app starts."""

from __future__ import annotations

import argparse

from ambientctl.cli.options import add_source_options, non_empty

SOURCE_FLAGS = ("--demo", "--snapshot", "--context", "--kubeconfig", "--request-timeout", "--istio-version")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ui",
        help="the interactive app (what `ambientctl` alone opens on a terminal)",
        description="Open the interactive app: namespaces and pods with their ambient mode, waypoint, ztunnel and "
        "findings; describe a pod (enter); mark a source and a destination (space) and explain the pair (t). "
        "Press ? in the app for every key.",
        epilog="Example: ambientctl ui --demo   (the same as `ambientctl --demo` on a terminal)",
    )
    p.add_argument("-n", "--namespace", metavar="NS", type=non_empty, help="namespace to show first (default: default)")
    add_source_options(p)
    p.set_defaults(func=run)


def add_top_level_options(parser: argparse.ArgumentParser) -> None:
    """`ambientctl --demo` opens the app on the demo cluster: the source options exist at the top level too."""
    add_source_options(parser)


def apply_top_level_options(argv: list[str], args: argparse.Namespace) -> None:
    """A source option written before a COMMAND (`ambientctl --demo describe pod x`) is lost by argparse, which
    lets the command's defaults overwrite it: put it back unless the command was given its own."""
    command = getattr(args, "command", None)
    if not command or command not in argv:
        return
    before = argv[: argv.index(command)]
    if not any(a.split("=", 1)[0] in SOURCE_FLAGS for a in before):
        return
    from ambientctl.cli.options import Parser

    top = Parser(add_help=False)
    add_source_options(top)
    given, _ = top.parse_known_args(before)
    defaults = top.parse_args([])
    for key, value in vars(given).items():
        if value != getattr(defaults, key) and getattr(args, key, None) == getattr(defaults, key):
            setattr(args, key, value)


def run(args: argparse.Namespace) -> int:
    import sys

    from ambientctl.errors import UsageError

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the interactive app needs a terminal; use describe/explain with -o json in scripts")
    if args.demo and args.snapshot:
        raise UsageError("--demo and --snapshot are alternatives; give one")
    from ambientctl.cli.state import load_view
    from ambientctl.tui.app import run_app

    if args.demo:
        hint = f"demo {args.demo}"
    elif args.snapshot:
        hint = f"snapshot {args.snapshot}"
    else:
        hint = f"live cluster (context {args.context})" if args.context else "live cluster (current context)"
    from ambientctl.cli.commands.trace import demo_tracer, live_tracer

    if args.demo:
        tracer = demo_tracer(args.demo)
    elif args.snapshot:
        tracer = None  # a snapshot has no packets or logs: trace falls back to explain
    else:
        tracer = live_tracer(args)
    return run_app(lambda: _displayable(load_view(args), args), hint, getattr(args, "namespace", None),
                   tracer=tracer)


def _displayable(view, args):  # type: ignore[no-untyped-def]
    """The view with every name, label and rule shown, never acted on by the terminal: a snapshot's strings are
    escaped (\\x1b, \\u202e) when the text read held any terminal control (a live cluster is always scanned)."""
    from ambientctl.mesh.view import MeshView
    from ambientctl.unicode import visible_objects

    cluster = view.cluster
    if cluster.control_chars is False or not visible_objects(cluster.objects()):
        return view
    cluster.reindex()
    return MeshView(cluster, istio_version=args.istio_version)
