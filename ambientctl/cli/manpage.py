"""Man pages generated from the CLI spec: ambientctl(1) and ambientctl-COMMAND(1) for each top-level command,
so `man` says exactly what `--help` says."""

from __future__ import annotations

from ambientctl import __version__
from ambientctl.cli.spec import Command, cli_spec

DATE = "2026-11"  # fixed, so regenerating does not create a diff every day
SEE_ALSO = "istioctl(1), kubectl(1), tcpdump(8), tshark(1)"


def _esc(text: str) -> str:
    out = text.replace("\\", "\\\\").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line.startswith((".", "'")) else line for line in out.split("\n"))


def _synopsis(c: Command) -> str:
    parts = [f"\\fB{_esc(' '.join(['ambientctl', *c.path]))}\\fR"]
    for o in c.options:
        if o.long in ("--help",):
            continue
        flag = _esc(o.flags[0])
        parts.append(f"[\\fB{flag}\\fR{' ' + _esc(o.metavar or o.long.lstrip('-').upper()) if o.takes_value else ''}]")
    for p in c.positionals:
        parts.append(f"\\fI{_esc(p.name)}\\fR")
    if c.subcommands:
        parts.append("\\fICOMMAND\\fR")
    return " ".join(parts)


def _options(c: Command) -> list[str]:
    lines = []
    for o in c.options:
        flags = ", ".join(f"\\fB{_esc(f)}\\fR" for f in o.flags)
        if o.takes_value:
            flags += " \\fI" + _esc(o.metavar or (("{" + ",".join(o.choices) + "}") if o.choices else "VALUE")) + "\\fR"
        lines += [".TP", flags, _esc(o.help or "")]
    return lines


def render(c: Command, title: str, summary: str) -> str:
    lines = [
        f'.TH "{title.upper()}" "1" "{DATE}" "ambientctl {__version__}" "ambientctl manual"',
        ".SH NAME",
        f"{_esc(title)} \\- {_esc(summary)}",
        ".SH SYNOPSIS",
    ]
    commands = [c] if not c.subcommands or c.path == [] else [c, *[s for s in c.walk() if s is not c]]
    for x in commands:
        lines += [".PP", _synopsis(x)]
    lines += [".SH DESCRIPTION", _esc(c.description or summary)]
    if c.path == []:
        lines += [".SH COMMANDS"]
        for s in c.subcommands:
            lines += [".TP", f"\\fBambientctl {_esc(s.path[-1])}\\fR(1)", _esc(s.help)]
    if c.options:
        lines += [".SH OPTIONS", *_options(c)]
    for s in c.walk():
        if s is c or c.path == []:
            continue
        lines += [f'.SH "{_esc(" ".join(s.path).upper())}"']
        if s.aliases:
            lines += [".PP", "Aliases: " + ", ".join(f"\\fB{_esc(a)}\\fR" for a in s.aliases) + "."]
        lines += [".PP", _esc(s.description or s.help)]
        for p in s.positionals:
            lines += [".TP", f"\\fI{_esc(p.name)}\\fR", _esc(p.help)]
        lines += _options(s)
        if s.epilog:
            lines += [".PP", _esc(s.epilog)]
    if c.epilog:
        lines += [".SH EXAMPLES", ".PP", _esc(c.epilog)]
    lines += [
        ".SH EXIT STATUS",
        "0 success; 1 error (unreadable input, unreachable cluster); 2 usage error (unknown or ambiguous "
        "reference, bad option); 3 the explained or traced request is denied; 130 interrupted.",
        ".SH SEE ALSO",
        ", ".join(f"\\fBambientctl\\-{_esc(s.path[-1])}\\fR(1)" for s in cli_spec().subcommands if s is not c)
        + ", " + SEE_ALSO,
    ]
    return "\n".join(lines) + "\n"


def pages() -> dict[str, str]:
    """file name -> roff text, for ambientctl(1) and every top-level command."""
    root = cli_spec()
    out = {"ambientctl.1": render(root, "ambientctl", "debug Istio ambient mode: which way did a request go, and why "
                                  "was it allowed, denied or hairpinned")}
    for s in root.subcommands:
        out[f"ambientctl-{s.path[-1]}.1"] = render(s, f"ambientctl-{s.path[-1]}", s.help)
    return out

