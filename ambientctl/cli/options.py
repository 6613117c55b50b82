"""Option groups shared by commands, declared once so every command reads cluster state and prints output
the same way (kubectl habits: --context, --kubeconfig, -n, -o)."""

from __future__ import annotations

import argparse

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
    """argparse with one-line errors: `ambientctl describe: error: ...` and exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        raise ArgumentError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


def add_source_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("cluster state (default: the live cluster of the current kubeconfig context)")
    g.add_argument(
        "--snapshot",
        metavar="PATH",
        help="read manifests from a file, directory or .tar.gz/.zip archive instead of a live cluster "
        "(kubectl get -o yaml|json output), or a ztunnel config_dump / local config (istioctl zc all -o json)",
    )
    g.add_argument(
        "--demo",
        nargs="?",
        const="bookinfo",
        metavar="NAME",
        help="use a bundled demo cluster: bookinfo (default, current Istio), seed-2022, hairpin-1.20",
    )
    g.add_argument("--context", metavar="NAME", help="kubeconfig context to use")
    g.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    g.add_argument(
        "--request-timeout",
        metavar="SECONDS",
        type=float,
        default=10.0,
        help="give up on an unreachable API server after this long (default: 10)",
    )
    g.add_argument(
        "--istio-version",
        metavar="X.Y",
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
    p.add_argument("-n", "--namespace", metavar="NS", help="namespace of the object (default: default)")
