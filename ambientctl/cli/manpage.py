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


# The values of explain's JSON that scripts branch on (docs/explain.md has every field, with the Istio versions).
JSON_VALUES: dict[str, list[tuple[str, str]]] = {
    "explain": [
        ("path", "direct-hbone, via-waypoint, plaintext-passthrough, hairpin-via-waypoint (1.18-1.21), sidecar-direct, "
                 "kubelet-probe-snat (SRC node/NAME: a probe SNATed to 169.254.7.127, 1.21+)"),
        ("enforcedBy", "dst-ztunnel, src-ztunnel, waypoint, sidecar, networkpolicy (a Kubernetes NetworkPolicy, "
                       "enforced by the CNI), none"),
        ("decidedBy", "{policy, rule} | {defaultDeny: [...]} | {noPolicy: true} | {builtin} | {failure} | "
                      "{networkPolicy: \"ns/name\" or [...]} (selects the pod, no rule admits the connection) | "
                      "{networkPolicy, rule} (that rule admitted it and no Istio component decided) | "
                      "{notEvaluated: why} (no Istio component sees it: kubelet probes)"),
        ("hops[].reached", "false on every hop after a NetworkPolicy dropped the connection"),
        ("networkPolicy", "when a NetworkPolicy dropped it: {direction, pod, policies, connection: {src, dst, port, "
                          "protocol}, cni}"),
        ("ztunnelLog, proxyLog", "the deciding (for a NetworkPolicy drop: the sending) ztunnel's or proxy's error "
                                 "text, e.g. 'connection timed out, maybe a NetworkPolicy is blocking HBONE port "
                                 "15008: deadline has elapsed' (ztunnel 1.23+; 'io error: deadline has elapsed' "
                                 "before)"),
        ("destination.kind", "Service, Pod, IP, ServiceEntry (a host or address a ServiceEntry knows), Host (a name "
                             "nothing in the cluster knows, e.g. httpbin.org)"),
        ("dns", "for hostnames: {capture, why, answeredBy: 'ztunnel DNS proxy' | 'upstream resolver' | '--resolve', "
                "address, caveat}"),
        ("findings", "flow findings {id, severity, message}, e.g. egress-waypoint-skipped-no-dns-capture, "
                     "egress-waypoint-skipped-no-address, dry-run-enforced-by-old-ztunnel"),
    ],
}


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
    values = JSON_VALUES.get(c.name)
    if values:
        lines += ['.SH "JSON OUTPUT"', ".PP", "Values of the -o json/yaml fields; the full contract is docs/explain.md."]
        for head, body in values:
            lines += [".TP", f"\\fB{_esc(head)}\\fR", _esc(body)]
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

