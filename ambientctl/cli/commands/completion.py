"""`ambientctl completion bash|zsh|fish` prints a completion script (as `kubectl completion` does); the
hidden `__complete` command is what those scripts call for live candidates."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh, fish)",
        description="Print a shell completion script. bash: source <(ambientctl completion bash); zsh: put it in "
        "a directory on $fpath as _ambientctl; fish: ambientctl completion fish > "
        "~/.config/fish/completions/ambientctl.fish. Installed packages also ship them in share/.",
    )
    p.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell to complete for")
    p.set_defaults(func=run)
    hidden = sub.add_parser("__complete")
    hidden.add_argument("kind")
    hidden.add_argument("words", nargs=argparse.REMAINDER)
    hidden.set_defaults(func=run_complete)


def run(args: argparse.Namespace) -> int:
    from ambientctl.cli.completion import generate

    sys.stdout.write(generate(args.shell))
    return 0


def run_complete(args: argparse.Namespace) -> int:
    from ambientctl.cli.completion import candidates

    for c in candidates(args.kind, args.words):
        print(c)
    return 0
