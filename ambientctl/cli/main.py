"""Entry point: builds the argument parser from the command modules and turns errors into one line and an
exit code. Nothing heavy is imported here, so `--help` and completion stay fast."""

from __future__ import annotations

import gc
import importlib
import os
import signal
import sys

from ambientctl import __version__
from ambientctl.cli.commands import COMMANDS, ui
from ambientctl.cli.options import ArgumentError, Parser
from ambientctl.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, AmbientctlError


def build_parser() -> Parser:
    parser = Parser(
        prog="ambientctl",
        description="Debug Istio ambient mode: which way did a request from A to B go, and why was it "
        "allowed, denied or hairpinned?",
        epilog="Try it without a cluster: ambientctl describe pod productpage-v1 --demo",
    )
    parser.add_argument("--version", action="version", version=f"ambientctl {__version__}")
    parser.add_argument("--no-plugins", action="store_true",
                        help="load only ambientctl's own plugins, none from other packages "
                        "(also: AMBIENTCTL_NO_PLUGINS=1)")
    ui.add_top_level_options(parser)  # `ambientctl --demo` opens the interactive app on the demo
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(f"ambientctl.cli.commands.{name}").add_parser(sub)
    return parser


def _parse(parser: Parser, argv: list[str]):
    """Parse argv. `--demo` takes an optional NAME, so in `describe pod --demo productpage` argparse reads
    productpage as the demo and then misses NAME: when that fails and the word names no demo, it is retried as
    `--demo=bookinfo productpage`."""
    try:
        return parser.parse_args(argv)
    except ArgumentError as first:
        if "--demo" in argv:
            from ambientctl.sources.demo import DEMOS

            fixed = list(argv)
            for i, w in enumerate(fixed[:-1]):
                if w == "--demo" and fixed[i + 1] not in DEMOS and not fixed[i + 1].startswith("-"):
                    fixed[i] = "--demo=bookinfo"
            if fixed != argv:
                try:
                    return parser.parse_args(fixed)
                except ArgumentError:
                    pass
        raise first


GC_THRESHOLDS = (50_000, 20, 100)  # see main(); benches set the same to measure what users get


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = _parse(parser, argv)
    except ArgumentError as e:
        print(e, file=sys.stderr)
        return EXIT_USAGE
    ui.apply_top_level_options(argv, args)
    if args.no_plugins:  # read by ambientctl.plugins when a command first needs plugins
        os.environ["AMBIENTCTL_NO_PLUGINS"] = "1"
    # Commands build many small objects and few cycles (tens of thousands of flows, pods, policy rules): the
    # default gen-0 threshold of 700 runs the collector thousands of times for nothing (decode of a 250k-packet
    # capture: 1.39 s -> 0.90 s). Collections still happen, so cyclic garbage is still reclaimed.
    gc.set_threshold(*GC_THRESHOLDS)
    func = getattr(args, "func", None)
    if func is None:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            parser.print_help()
            return 0
        func = ui.run  # `ambientctl` alone on a terminal opens the interactive app
    try:
        return int(func(args) or 0)
    except AmbientctlError as e:
        print(f"ambientctl: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("ambientctl: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `ambientctl ... | head`: the reader went away; not an error worth a traceback.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        return EXIT_ERROR
