"""Destinations outside the cluster's Services: which ServiceEntry knows a hostname or address, which address a
captured client really dials, and whether its ztunnel then sends it to an egress waypoint.

The client's ztunnel routes by the *address* dialed, never by name (istio/ztunnel `src/proxy/outbound.rs`
`build_request`: a known service VIP → its waypoint or endpoints; an unknown IP → plain TCP passthrough). So the
name→address step decides everything, and it depends on DNS capture:
- ztunnel's DNS proxy (`src/dns/server.rs` `find_server`) answers a ServiceEntry host — exact first, then
  `*.suffix` wildcards of decreasing specificity — with the entry's VIPs, if it has any, and only when the entry is
  visible to the client's namespace (`visible_to`, 1.31 `meshConfig.serviceEntryVisibility`); without a VIP
  (and for names no entry knows) it forwards to the upstream resolver.
- VIPs are `spec.addresses`, else what istiod's IP auto-allocator wrote to `status.addresses` (1.25+ default,
  range 240.240.0.0/16; never for resolution NONE, never when the user gave addresses, wildcard hosts only for
  DYNAMIC_DNS, opt-out label `networking.istio.io/enable-autoallocate-ip=false`:
  pilot/pkg/networking/serviceentry/ip_autoallocation.go, pilot/pkg/controllers/ipallocate `keepHost`).
- DNS capture is istio-cni's `AMBIENT_DNS_CAPTURE` (chart default false in 1.24, true from 1.25), overridden per pod
  by the annotation `ambient.istio.io/dns-capture` parsed with Go's strconv.ParseBool — anything else is ignored
  (cni/pkg/nodeagent/net.go, cni/pkg/util/podutil.go `CheckBooleanAnnotation`). It is set up when the pod starts:
  a pod started before the setting changed (e.g. before an upgrade to 1.25) keeps the old behaviour, which a
  snapshot cannot tell.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ambientctl.model import objects as o

DNS_CAPTURE_ANNOTATION = "ambient.istio.io/dns-capture"
AUTOALLOCATE_LABEL = "networking.istio.io/enable-autoallocate-ip"
AUTOALLOCATE_RANGE = ipaddress.ip_network("240.240.0.0/16")
_GO_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_GO_BOOLS = _GO_TRUE | {"0", "f", "F", "FALSE", "false", "False"}  # Go strconv.ParseBool


def go_bool(value: str) -> bool:
    return str(value).strip() in _GO_TRUE


def host_matches(pattern: str, host: str) -> bool:
    """A ServiceEntry host against a dialed name: exact, or `*.suffix` for any name under suffix (ztunnel tries the
    name, then `*.` + each parent domain: `get_wildcards`)."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern == host:
        return True
    return pattern.startswith("*.") and host.endswith(pattern[1:])


def _specificity(pattern: str) -> int:
    """Exact names first, then longer wildcards (ztunnel stops at the first wildcard level that has an entry)."""
    return 10_000 if not pattern.startswith("*") else len(pattern)


@dataclass
class EntryMatch:
    entry: o.ServiceEntry
    host: str  # the entry's host that matched (may be a wildcard)
    vips: list[str] = field(default_factory=list)
    vip_source: str = ""  # "spec.addresses" | "status.addresses (auto-allocated)" | ""


def entry_vips(se: o.ServiceEntry, host: str) -> tuple[list[str], str]:
    """The addresses ztunnel's DNS proxy answers for `host` of this entry (empty: it forwards upstream)."""
    if se.addresses:
        ips = [a for a in se.addresses if "/" not in a or a.endswith(("/32", "/128"))]
        return [a.split("/")[0] for a in ips], "spec.addresses"
    if se.resolution == "NONE" or se.meta.labels.get(AUTOALLOCATE_LABEL, "").lower() == "false":
        return [], ""
    if host.startswith("*") and se.resolution != "DYNAMIC_DNS":
        return [], ""
    ips = [ip for h, ip in se.status_addresses if h in ("", host)]
    return ips, ("status.addresses (auto-allocated)" if ips else "")


def visibility(mesh_config: dict, namespace_labels: dict[str, str]) -> str:
    """`meshConfig.serviceEntryVisibility` (1.31) for an entry in a namespace with these labels: PUBLIC, NAMESPACE
    or NONE — the first policy whose rules all match, else the default (pilot/pkg/model/serviceentry_visibility.go
    `VisibilityFor`; only namespaceSelector.matchLabels is modelled)."""
    sev = mesh_config.get("serviceEntryVisibility") if isinstance(mesh_config, dict) else None
    if not isinstance(sev, dict):
        return "PUBLIC"
    for pol in sev.get("policies") or []:
        if not isinstance(pol, dict):
            continue
        rules = pol.get("matchingRules") or []
        if all(isinstance(r, dict) and isinstance(r.get("namespaceSelector"), dict)
               and all(namespace_labels.get(k) == v
                       for k, v in ((r["namespaceSelector"].get("matchLabels") or {}).items()))
               for r in rules):
            return str(pol.get("visibility") or "PUBLIC").upper()
    return str(sev.get("defaultVisibility") or "PUBLIC").upper()


def visible_to(se: o.ServiceEntry, client_ns: str, mesh_config: dict, ns_labels: dict[str, str]) -> bool:
    vis = visibility(mesh_config, ns_labels)
    return vis == "PUBLIC" or (vis == "NAMESPACE" and se.meta.namespace == client_ns)


def entries_for_host(entries: list[o.ServiceEntry], host: str) -> list[EntryMatch]:
    """Every ServiceEntry that names `host`, the most specific first."""
    out = []
    for se in entries:
        best = max((h for h in se.hosts if host_matches(h, host)), key=_specificity, default=None)
        if best is not None:
            vips, src = entry_vips(se, best)
            out.append(EntryMatch(se, best, vips, src))
    out.sort(key=lambda m: (-_specificity(m.host), m.entry.meta.created, m.entry.meta.key))
    return out


def entry_with_address(entries: list[o.ServiceEntry], ip: str) -> EntryMatch | None:
    """The ServiceEntry whose VIP (spec.addresses, CIDRs included, or status.addresses) is `ip`."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    for se in entries:
        for a in se.addresses:
            try:
                if addr in ipaddress.ip_network(a, strict=False):
                    return EntryMatch(se, se.hosts[0] if se.hosts else "", [ip], "spec.addresses")
            except ValueError:
                continue
        for h, v in se.status_addresses:
            if v == ip:
                return EntryMatch(se, h or (se.hosts[0] if se.hosts else ""), [ip],
                                  "status.addresses (auto-allocated)")
    return None


@dataclass
class DnsCapture:
    on: bool
    why: str
    caveat: str = ""  # what a snapshot cannot tell (the pod's start time against the setting)


def dns_capture(pod: o.Pod, cni_settings: dict[str, str], version_at_least_1_25: bool) -> DnsCapture:
    ann = pod.meta.annotations.get(DNS_CAPTURE_ANNOTATION)
    if ann is not None and ann in _GO_BOOLS:
        on = go_bool(ann)
        return DnsCapture(on, f"pod annotation {DNS_CAPTURE_ANNOTATION}={ann}")
    ignored = (f" (annotation {DNS_CAPTURE_ANNOTATION}={ann!r} is not a boolean: istio-cni ignores it)"
               if ann is not None else "")
    if "AMBIENT_DNS_CAPTURE" in cni_settings:
        v = cni_settings["AMBIENT_DNS_CAPTURE"]
        return DnsCapture(go_bool(v), f"istio-cni AMBIENT_DNS_CAPTURE={v}{ignored}",
                          "set up when the pod started: a pod started before this setting changed keeps the old "
                          "behaviour (the snapshot cannot tell when)")
    if version_at_least_1_25:
        return DnsCapture(True, f"istio-cni default since 1.25 (cni.ambient.dnsCapture){ignored}",
                          "only for pods started after the upgrade to 1.25+: a pod started before keeps sending "
                          "DNS to kube-dns (the snapshot cannot tell when it started relative to the upgrade)")
    return DnsCapture(False, f"istio-cni default before 1.25 is off (cni.ambient.dnsCapture=false){ignored}")


def outbound_policy(mesh_config: dict) -> str:
    otp = mesh_config.get("outboundTrafficPolicy") if isinstance(mesh_config, dict) else None
    mode = str((otp or {}).get("mode") or "ALLOW_ANY") if isinstance(otp, dict) else "ALLOW_ANY"
    return mode.upper()
