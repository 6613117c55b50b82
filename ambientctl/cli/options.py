"""Option groups shared by commands, declared once so every command reads cluster state and prints output
the same way (kubectl habits: --context, --kubeconfig, -n, -o)."""

from __future__ import annotations

import argparse

from ambientctl.demo import DEFAULT_DEMO, demo_names, demos

OUTPUT_FORMATS = ("text", "json", "yaml")


class OpenChoices(tuple):
    """Choices shown in --help, man pages and completion that still let any name through argparse: output
    plugins add formats, and the generated docs must not depend on what happens to be installed. The command
    checks the name when it runs (ambientctl.plugins.check_output_format)."""

    def __contains__(self, item: object) -> bool:
        return True


OUTPUT_CHOICES = OpenChoices(OUTPUT_FORMATS)


class ArgumentError(Exception):
    """A usage error found while parsing; main() prints it as one line and exits 2."""


class Parser(argparse.ArgumentParser):
    """argparse with errors in the house style (ambientctl.errors): `ambientctl: describe pod: <what>; see
    'ambientctl describe pod --help'`, exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        command = self.prog.removeprefix("ambientctl").strip()
        where = f"{command}: " if command else ""
        what, close = _reword(message)
        mean = f"did you mean '{close}'? " if close else ""
        raise ArgumentError(f"ambientctl: {where}{what}; {mean}see '{self.prog} --help'")


def _reword(message: str) -> tuple[str, str | None]:
    """argparse's `argument COMMAND: invalid choice: 'x' (choose from 'a', 'b', '__hidden')` in kubectl's words:
    `unknown command 'x' (choose from: a, b)`, or the close match to offer — hidden helpers (`__complete`) are
    never offered."""
    import difflib
    import re

    m = re.match(r"argument (\S+): invalid choice: '([^']*)' \(choose from (.*)\)$", message)
    if not m:
        return message, None
    what, word, listed = m.groups()
    choices = [c.strip().strip("'") for c in listed.split(",")]
    choices = [c for c in choices if not c.startswith("__")]
    noun = {"COMMAND": "command", "KIND": "kind", "VERB": "command", "ACTION": "command"}.get(what, what)
    close = difflib.get_close_matches(word, choices, n=1)
    if close:
        return f"unknown {noun} '{word}'", close[0]
    return f"unknown {noun} '{word}' (choose from: {', '.join(choices)})", None


def normalize_demo(argv: list[str]) -> list[str]:
    """`--demo` never eats a positional argument: the word after it is the demo's NAME only when it names a
    demo (`--demo bookinfo-l4`); otherwise --demo stands alone (`explain --demo notsleep productpage:9080` is
    the default demo with SRC notsleep). `--demo=NAME` is always the demo's name, checked when it is loaded."""
    names = set(demo_names())
    out: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            return out + argv[i:]
        if word == "--demo":
            nxt = argv[i + 1] if i + 1 < len(argv) else None
            if nxt in names:
                out.append(f"--demo={nxt}")
                i += 2
                continue
            out.append(f"--demo={DEFAULT_DEMO}")
        else:
            out.append(word)
        i += 1
    return out


MAX_SECONDS = 86400.0  # a day: longer is a typo, and sockets overflow on huge timeouts


def seconds(text: str) -> float:
    """A time limit in seconds: a finite number more than 0 and at most a day (0, -1, nan, inf and words are
    usage errors, not "no limit" or a crash deep inside a socket)."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0 or value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds more than 0 and at most "
                                         f"{MAX_SECONDS:g}")
    return value


def non_empty(text: str) -> str:
    """A path or name: an empty argument (`--snapshot ""`, an unset shell variable) is a usage error, never a
    silent fall-back to the default (for --snapshot: the live cluster)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty argument (an unset shell variable?)")
    if "\x00" in text:
        raise argparse.ArgumentTypeError("contains a NUL byte")
    return text


def add_source_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("cluster state (default: the live cluster of the current kubeconfig context)")
    g.add_argument(
        "--snapshot",
        metavar="PATH",
        type=non_empty,
        help="read manifests from a file, directory or .tar.gz/.zip archive instead of a live cluster "
        "(kubectl get -o yaml|json output), or a ztunnel config_dump / local config (istioctl zc all -o json)",
    )
    g.add_argument(
        "--demo",
        nargs="?",
        const=DEFAULT_DEMO,
        metavar="NAME",
        help="use a bundled demo cluster instead of a live one: "
        + "; ".join(f"{n}{' (default)' if n == DEFAULT_DEMO else ''} — {s}" for n, s in demos().items())
        + ". The word after --demo is read as NAME only when it is one of these",
    )
    g.add_argument("--context", metavar="NAME", type=non_empty, help="kubeconfig context to use")
    g.add_argument("--kubeconfig", metavar="PATH", type=non_empty,
                   help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    g.add_argument(
        "--request-timeout",
        metavar="SECONDS",
        type=seconds,
        default=10.0,
        help="the most one command waits for the API server, all requests, credential plugins and body reads "
        "together (default: 10)",
    )
    g.add_argument(
        "--istio-version",
        metavar="X.Y",
        type=non_empty,
        help="behaviour model to use (e.g. 1.20, 1.24, experimental-2022); default: detected from the "
        "istiod/ztunnel image tags",
    )


def add_output_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o",
        "--output",
        choices=OUTPUT_CHOICES,
        default="text",
        help="output format (default: text; output plugins add more, see `ambientctl plugins list`)",
    )


def add_namespace_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", "--namespace", metavar="NS", type=non_empty,
                   help="namespace of the object (default: default)")


def add_force_option(p: argparse.ArgumentParser, what: str = "the output file") -> None:
    p.add_argument("--force", action="store_true",
                   help=f"replace {what} if it exists (never a symbolic link, a device or a file being read)")
