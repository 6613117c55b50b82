"""Entry point: builds the argument parser from the command modules and turns errors into one line and an
exit code. Nothing heavy is imported here, so `--help` and completion stay fast."""

from __future__ import annotations

import importlib
import signal
import sys

from ambientctl import __version__
from ambientctl.cli.commands import COMMANDS
from ambientctl.cli.options import Parser
from ambientctl.errors import EXIT_ERROR, EXIT_INTERRUPTED, AmbientctlError


def build_parser() -> Parser:
    parser = Parser(
        prog="ambientctl",
        description="Debug Istio ambient mode: which way did a request from A to B go, and why was it "
        "allowed, denied or hairpinned?",
        epilog="Try it without a cluster: ambientctl describe pod productpage-v1 --demo",
    )
    parser.add_argument("--version", action="version", version=f"ambientctl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(f"ambientctl.cli.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0
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
