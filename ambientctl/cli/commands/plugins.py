"""`ambientctl plugins list`: every decoder, findings check and output format installed — where it comes from,
whether it is built in, and whether it loads (or the error that stops it), so a broken plugin is easy to find."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from ambientctl.cli.options import add_output_option


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plugins",
        help="list installed plugins (decoders, findings, output formats) and whether they load",
        description="Manage ambientctl plugins: decoders for what apps send inside HBONE tunnels "
        "(ambientctl.decoders.v1), extra findings for describe (ambientctl.findings.v1) and output formats for -o "
        "(ambientctl.outputs.v1). Plugins are Python packages registering entry points; built-ins register the "
        "same way. `ambientctl plugins` alone lists them, as `ambientctl plugins list` does.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    add_output_option(p)  # `ambientctl plugins` alone lists, as `plugins list` does
    p.set_defaults(func=run)
    ls = actions.add_parser(
        "list",
        aliases=["ls"],
        help="each plugin: group, name, package and version, built-in or not, loaded or the error",
        description="List every installed plugin and try to load it: group, name, distribution and version, "
        "built-in or not, and 'ok' or the error that stops it (a plugin that fails is skipped everywhere else, "
        "with one line on stderr).",
        epilog="Exit status: 0 all plugins load, 1 at least one does not. Example: ambientctl plugins list -o json",
    )
    add_output_option(ls)
    ls.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import io

    from ambientctl.output.envelope import emit, envelope
    from ambientctl.plugins import Registry, check_output_format, third_party_disabled

    check_output_format(args.output)
    reg = Registry(stderr=io.StringIO())  # errors are the listing's content, not stderr noise
    plugins = reg.all()
    for p in plugins:
        reg.load(p)
    doc = envelope("PluginList", {
        "thirdPartyPlugins": "disabled" if third_party_disabled() else "enabled",
        "plugins": [p.as_dict() for p in plugins],
    })
    emit(doc, args.output, render)
    return 1 if any(p.error for p in plugins) else 0


def render(doc: dict[str, Any], out: TextIO) -> None:
    from rich.markup import escape
    from rich.table import Table

    from ambientctl.output.console import text_output

    t = Table(box=None, padding=(0, 2, 0, 0), show_edge=False, header_style="head")
    for col in ("GROUP", "NAME", "PACKAGE", "VERSION", "STATUS"):
        t.add_column(col, no_wrap=col != "STATUS", overflow="fold")
    for p in doc["plugins"]:
        status = "[ok]ok[/]" if p["status"] == "loaded" else f"[error]error:[/] {escape(p['error'] or '')}"
        pkg = p["distribution"] + (" (built-in)" if p["builtin"] else "")
        t.add_row(p["group"], p["name"], escape(pkg), p["version"], status)
    with text_output(out) as c:
        c.print(t)
        if doc["thirdPartyPlugins"] == "disabled":
            c.print("[dim]plugins from other packages are off (--no-plugins or AMBIENTCTL_NO_PLUGINS)[/]")
