"""Findings from `ambientctl.findings.v1` plugins, added to a PodDescription next to the built-in ones.

Each plugin finding's id is prefixed with the plugin's name (`grpc/per-connection-balancing`) and carries a
`plugin` key naming its distribution, so a reader knows who to ask; built-in ids stay unprefixed."""

from __future__ import annotations

from typing import Any

from ambientctl.plugins import FINDINGS, Registry
from ambientctl.plugins.api import SEVERITIES, Finding, PodContext


def plugin_findings(view: Any, pod: Any, doc: dict[str, Any], reg: Registry) -> list[dict[str, Any]]:
    checks = reg.loaded(FINDINGS)
    if not checks:
        return []
    ctx = PodContext(view, pod, doc)
    out: list[dict[str, Any]] = []
    for p, check in checks:
        found = reg.call(p, lambda c=check: list(c(ctx) or ()))
        for f in found or ():
            if not isinstance(f, Finding) or f.severity not in SEVERITIES:
                reg.report(p, f"returned {f!r}, not a Finding with severity {'/'.join(SEVERITIES)}", loading=False)
                continue
            out.append({**f.as_dict(), "id": f"{p.name}/{f.id}", "plugin": p.dist})
    return out


def add_plugin_findings(view: Any, pod: Any, doc: dict[str, Any], reg: Registry) -> dict[str, Any]:
    """`doc` (a PodDescription body) with the plugins' findings appended to `findings`."""
    extra = plugin_findings(view, pod, doc, reg)
    if extra:
        doc["findings"] = list(doc["findings"]) + extra
    return doc
