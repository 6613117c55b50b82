"""`ambientctl logs parse FILE…`: read ztunnel and waypoint logs pasted into a ticket (any ztunnel format since
1.18, Envoy access logs) and show the connections in them: which way each went, how it ended, and for every
error what it means and what to look at next."""

from __future__ import annotations

import argparse

from ambientctl.cli.options import non_empty


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "logs",
        help="understand ztunnel and waypoint logs",
        description="Work with ztunnel and waypoint (Envoy) logs.",
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    parse = verbs.add_parser(
        "parse",
        help="parse ztunnel/waypoint logs into connections with classified errors",
        description="Parse ztunnel logs (1.22+ plain or LOG_FORMAT=json access logs, and the 1.18-1.21 text "
        "format) and waypoint Envoy access logs (Istio's default text or JSON format). Lines from several files "
        "(e.g. the source and destination ztunnels and the waypoint) are joined into connections: the observed "
        "path (direct-hbone, via-waypoint, plaintext-passthrough, hairpin-via-waypoint), the verdict (allow, deny "
        "and by what, failed and why), and for every error a stable code, its meaning and a next step.",
        epilog="FILE may be - for standard input; lines ambientctl does not recognise are counted, never fatal. "
        "Exit status: 0 parsed, 1 a file cannot be read. Example: kubectl logs -n istio-system ds/ztunnel | "
        "ambientctl logs parse - -o json",
    )
    parse.add_argument("file", metavar="FILE", nargs="+", type=non_empty, help="log file, or - for standard input")
    parse.add_argument("--events", action="store_true", help="also list every parsed line (text output)")
    parse.add_argument(
        "-o", "--output", choices=("text", "json", "yaml"), default="text", help="output format (default: text)"
    )
    parse.set_defaults(func=run)


_BINARY = bytes([*range(0, 9), *range(14, 27), *range(28, 32)])  # control bytes text logs do not hold (ESC may)


def _read(name: str) -> tuple[list[str], list[int]]:
    """The lines of a log (UTF-8, or UTF-16 as Windows tools save it) and the numbers of the lines skipped
    because they hold NUL bytes (a log cut by a crash, a binary blob pasted in); those lines are left empty so
    line numbers still match the file. Mostly-binary data (a capture, a gzip) is refused."""
    import sys

    from ambientctl.errors import InputError, file_error
    from ambientctl.unicode import sniff_encoding

    if name == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(name, "rb") as f:
                data = f.read()
        except OSError as e:
            raise file_error(name, e, "log") from None
    enc = sniff_encoding(data)
    if enc.startswith("utf-8"):
        head = data[:4096]
        if sum(head.count(b) for b in _BINARY) > len(head) // 16:  # a capture, a gzip: not a log with a bad line
            raise InputError(f"{name if name != '-' else 'standard input'}: binary data, not a text log")
        text = data.decode("utf-8-sig", errors="replace")
    else:
        text = data.decode(enc, errors="replace")
    lines = text.splitlines()
    skipped = [i for i, line in enumerate(lines, 1) if "\0" in line]
    for i in skipped:
        lines[i - 1] = ""
    return lines, skipped


def run(args: argparse.Namespace) -> int:
    from ambientctl.output.envelope import emit
    from ambientctl.output.logs_text import render_logs

    emit(log_document(args.file, with_events=args.output != "text" or args.events), args.output, render_logs)
    return 0


def log_document(names: list[str], with_events: bool) -> dict:
    """The LogReport document `logs parse FILE…` prints; `ambientctl mcp` serves the same one."""
    from ambientctl.evidence import correlate, parse_log_lines
    from ambientctl.output.envelope import envelope
    from ambientctl.output.logs_text import log_report

    events = []
    files = []
    skipped: dict[str, list[int]] = {}
    for name in names:
        label = "stdin" if name == "-" else name
        lines, skipped[label] = _read(name)
        evs = parse_log_lines(lines, label)
        files.append((label, evs))
        events.extend(evs)
    return envelope("LogReport", log_report(files, correlate(events), with_events=with_events, skipped=skipped))
