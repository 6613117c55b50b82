"""Entry point: builds the argument parser from the command modules and turns errors into one line and an
exit code. Nothing heavy is imported here, so `--help` and completion stay fast."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import signal
import sys

from ambientctl import __version__
from ambientctl.cli.commands import COMMANDS, ui
from ambientctl.cli.options import ArgumentError, Parser
from ambientctl.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, AmbientctlError, error_line


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
    _name_commands(parser)
    return parser


def _name_commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> None:
    """Give every command parser a default `command_path` ("describe pod"): errors name the command they come
    from (ambientctl.errors.error_line), under its canonical name even when an alias was typed."""
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            done: set[int] = set()
            for name, sub in a.choices.items():
                if id(sub) not in done:
                    done.add(id(sub))
                    sub.set_defaults(command_path=" ".join(path + (name,)))
                    _name_commands(sub, path + (name,))


def _parse(parser: Parser, argv: list[str]):
    """Parse argv (`--demo` first normalised: it never eats a positional argument). Unknown options are
    reported by the command they were given to, so the hint names that command's --help."""
    from ambientctl.cli.options import normalize_demo

    args, extra = parser.parse_known_args(normalize_demo(argv))
    if extra:
        leaf = _command_parsers(parser).get(getattr(args, "command_path", None) or "", parser)
        leaf.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _command_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sub in a.choices.items():
                found.setdefault(" ".join(path + (name,)), sub)
                found.update(_command_parsers(sub, path + (name,)))
    return found


GC_THRESHOLDS = (50_000, 20, 100)  # see main(); benches set the same to measure what users get


def main(argv: list[str] | None = None) -> int:
    code = _main(argv)
    if argv is None:  # the process's own entry point (console script, python -m): see exit_if_abandoned
        from ambientctl.sources.deadline import exit_if_abandoned

        exit_if_abandoned(code)
    return code


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = _parse(parser, argv)
    except ArgumentError as e:
        from ambientctl.unicode import visible_line

        print(visible_line(str(e)), file=sys.stderr)
        return EXIT_USAGE
    ui.apply_top_level_options(argv, args)
    before = os.environ.get("AMBIENTCTL_NO_PLUGINS")
    if args.no_plugins:  # read by ambientctl.plugins when a command first needs plugins
        os.environ["AMBIENTCTL_NO_PLUGINS"] = "1"
    try:
        return _run(parser, args)
    finally:
        # main() also runs in-process (tests, the MCP server): leave the environment as it was found
        if args.no_plugins:
            if before is None:
                os.environ.pop("AMBIENTCTL_NO_PLUGINS", None)
            else:
                os.environ["AMBIENTCTL_NO_PLUGINS"] = before


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
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
    from ambientctl.outfile import Terminated, raise_terminated

    # SIGTERM/SIGHUP unwind like Ctrl-C, so temporary files are removed and captures closed as valid pcaps
    installed = [sig for sig in (signal.SIGTERM, signal.SIGHUP) if signal.getsignal(sig) is signal.SIG_DFL]
    for sig in installed:
        signal.signal(sig, raise_terminated)
    try:
        return int(func(args) or 0)
    except AmbientctlError as e:
        print(error_line(getattr(args, "command_path", None), e), file=sys.stderr)
        return e.exit_code
    except Terminated as e:
        print(f"ambientctl: terminated ({signal.Signals(e.signum).name})", file=sys.stderr)
        return 128 + e.signum
    except KeyboardInterrupt:
        print("ambientctl: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `ambientctl ... | head`: the reader went away; not an error worth a traceback.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        return EXIT_ERROR
    finally:
        for sig in installed:  # main() also runs in-process (tests, the MCP server): put the defaults back
            signal.signal(sig, signal.SIG_DFL)
