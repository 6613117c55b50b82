"""The path of a request to a hostname or address outside the cluster's Services (`explain sleep httpbin.org:443`):
which address the client dials (DNS capture, ServiceEntry VIPs, `--resolve`), and whether its ztunnel then sends
it to the ServiceEntry's egress waypoint or passes it through as plain TCP.

Rules and sources (see mesh/egress.py for the name→address step):
- ztunnel routes by the dialed address only (istio/ztunnel `src/proxy/outbound.rs` `build_request`): a ServiceEntry
  VIP is a service, so its waypoint is used (`fetch_service_waypoint`); an address ztunnel does not know is
  "built request as passthrough; no upstream found" → plain TCP to the original destination.
- Without DNS capture the client asks kube-dns, gets the public address, and the egress waypoint is skipped
  (istio#54896, #54981) — a flow finding, not a failure.
- `meshConfig.outboundTrafficPolicy: REGISTRY_ONLY` is a sidecar/waypoint (Envoy) setting: ztunnel has no such
  check and passes unknown destinations through (no `outbound_traffic_policy` anywhere in istio/ztunnel).
- resolution NONE in ztunnel is 1.28+ (a passthrough service; older ztunnels NACK it: research/istio-2026.md §3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ambientctl.explain.path import Check, Hop, Party, Plan, _zt_hop, canary_note
from ambientctl.mesh import egress as eg
from ambientctl.mesh.view import MeshView, WaypointBinding
from ambientctl.model import objects as o


@dataclass
class Egress:
    """What the client's side does with an external destination."""

    plan: Plan
    dns: dict[str, Any]
    entry: eg.EntryMatch | None = None
    binding: WaypointBinding | None = None
    dialed: str = ""  # the address the client connects to ("" = unknown: whatever the upstream resolver answers)
    findings: list[dict[str, Any]] = field(default_factory=list)


def _flow_finding(fid: str, severity: str, message: str, objects: tuple[str, ...] = ()) -> dict[str, Any]:
    """{id, severity, message, objects} as explain/findings.py `as_dicts` takes it; objects are Kind/ns/name."""
    return {"id": fid, "severity": severity, "message": message, "objects": list(objects)}


def visible_entries(view: MeshView, host: str, client_ns: str) -> tuple[list[eg.EntryMatch], list[eg.EntryMatch]]:
    """(visible, hidden) ServiceEntries for `host` from a client namespace (1.31 serviceEntryVisibility)."""
    matches = eg.entries_for_host(view.cluster.service_entries, host)
    if not view.version.at_least(1, 31) or not client_ns:
        return matches, []
    vis, hidden = [], []
    for m in matches:
        ok = eg.visible_to(m.entry, client_ns, view.install.mesh_config,
                           view.cluster.namespace_labels(m.entry.meta.namespace))
        (vis if ok else hidden).append(m)
    return vis, hidden


def dialed_address(view: MeshView, src: Party, host: str, resolve: dict[str, str]) -> tuple[str, dict[str, Any],
                                                                                             eg.EntryMatch | None,
                                                                                             list[str]]:
    """The address the client connects to for `host`, how it was learnt, and the entry ztunnel's DNS proxy used."""
    reasons: list[str] = []
    visible, hidden = visible_entries(view, host, src.namespace)
    for m in hidden:
        reasons.append(f"ServiceEntry {m.entry.meta.key} names {m.host} but is not visible from namespace "
                       f"{src.namespace} (meshConfig.serviceEntryVisibility): ztunnel's DNS proxy ignores it")
    chosen = visible[0] if visible else None
    dns: dict[str, Any] = {"capture": None, "why": "", "answeredBy": "", "address": None}
    captured = src.captured and src.pod is not None
    if captured:
        assert src.pod is not None
        dc = eg.dns_capture(src.pod, view.install.cni_settings, view.version.at_least(1, 25))
        dns.update(capture=dc.on, why=dc.why)
        if dc.caveat:
            dns["caveat"] = dc.caveat
    else:
        dc = None
        dns["why"] = "the client is not captured by ztunnel: its DNS goes to kube-dns"
    if dc is not None and dc.on and chosen is not None and chosen.vips:
        dns.update(answeredBy="ztunnel DNS proxy", address=chosen.vips[0])
        reasons.append(f"DNS capture is on ({dc.why}): ztunnel's DNS proxy answers {host} with "
                       f"{chosen.vips[0]}, the {chosen.vip_source} of ServiceEntry {chosen.entry.meta.key} "
                       f"(host {chosen.host})")
        return chosen.vips[0], dns, chosen, reasons
    if dc is not None and dc.on:
        if chosen is None:
            reasons.append(f"DNS capture is on ({dc.why}), but no ServiceEntry names {host}: ztunnel's DNS proxy "
                           "forwards the query to the upstream resolver")
        else:
            se = chosen.entry
            qualifies = (view.version.at_least(1, 25) and se.resolution != "NONE" and not se.addresses
                         and se.meta.labels.get(eg.AUTOALLOCATE_LABEL, "").lower() != "false"
                         and (not chosen.host.startswith("*") or se.resolution == "DYNAMIC_DNS"))
            reasons.append(f"DNS capture is on ({dc.why}), but ServiceEntry {se.meta.key} has no address "
                           "for " + host + " (no spec.addresses, no auto-allocated status.addresses" +
                           (", resolution NONE is never auto-allocated" if se.resolution == "NONE" else "") +
                           "): ztunnel's DNS proxy forwards the query upstream" +
                           (f" — istiod {view.version} would allocate one from {eg.AUTOALLOCATE_RANGE} and write it "
                            "to status.addresses: a snapshot without status (manifests from files) or "
                            "PILOT_ENABLE_IP_AUTOALLOCATE=false explains its absence" if qualifies else ""))
    elif dc is not None:
        reasons.append(f"DNS capture is off ({dc.why}): the client asks kube-dns, which knows no ServiceEntry")
    ip = resolve.get(host.lower())
    if ip:
        dns.update(answeredBy="--resolve", address=ip)
        reasons.append(f"the upstream resolver answers {host} with {ip} (--resolve)")
    else:
        dns.update(answeredBy="upstream resolver")
        reasons.append(f"the upstream resolver answers {host} with its public address (unknown offline: give "
                       f"--resolve {host}=IP to say which)")
    return ip or "", dns, (eg.entry_with_address(view.cluster.service_entries, ip) if ip else None), reasons


def plan_egress(view: MeshView, src: Party, host: str, port: int, dialed: str, entry: eg.EntryMatch | None,
                dns: dict[str, Any], reasons: list[str], dns_entry_for_host: eg.EntryMatch | None) -> Egress:
    """Hops and enforcement points once the dialed address is known (an address no pod or Service owns)."""
    warnings: list[str] = []
    findings: list[dict[str, Any]] = []
    shown = dialed or f"{host} (public address)"
    client = Hop("client", f"{src.namespace}/{src.name}" if src.pod else src.ip or src.ref,
                 src.pod.node_name if src.pod else "", "tcp", port, src.ip)
    server_name = host or (entry.host if entry is not None and not entry.host.startswith("*") else "") or dialed
    binding = view.service_entry_waypoint(entry.entry) if entry is not None else None
    if not (src.captured and src.pod):
        hops = [client, Hop("server", server_name, "", "tcp", port, dialed)]
        how = {"sidecar": "the client's sidecar handles it (its outboundTrafficPolicy and ServiceEntries; not "
                          "modelled here)",
               "none": "the client is not in the mesh: nothing in Istio sees it"}.get(src.mode, "")
        reasons.append(f"{src.ref} connects to {shown} itself; " + (how or "no ztunnel captures it"))
        return Egress(Plan("plaintext-passthrough", hops, [], reasons, warnings), dns, entry, binding, dialed)

    src_zt = _zt_hop(view, src.pod, "src-ztunnel", "tcp", port)
    se_key = entry.entry.meta.key if entry is not None else ""
    if entry is not None and binding is not None and binding.waypoint is not None:
        wp = binding.waypoint
        wp_pod = wp.pods[0] if wp.pods else None
        src_zt.protocol, src_zt.port, src_zt.ip = "hbone", 15008, wp_pod.ip if wp_pod else ""
        hops = [client, src_zt, Hop("waypoint", wp.key, wp_pod.node_name if wp_pod else "", "tcp", port,
                                    dialed), Hop("server", server_name, "", "tcp", port, "")]
        hops[2].note = "egress: the waypoint connects to the external host itself"
        reasons.append(f"{dialed} is the address of ServiceEntry {se_key}, bound to egress waypoint {wp.key} "
                       f"({binding.bound_by}): the client's ztunnel sends it there over HBONE")
        canary_note(view, binding, f"ServiceEntry {se_key}", reasons, warnings)
        checks = [Check("waypoint", wp.key, src.identity, src.ip, wp)]
        return Egress(Plan("via-waypoint", hops, checks, reasons, warnings, wp), dns, entry, binding, dialed,
                      findings)

    hops = [client, src_zt, Hop("server", server_name, "", "tcp", port, dialed)]
    if entry is not None:
        se = entry.entry
        how = {"DNS": "ztunnel resolves the host itself and connects to the answer",
               "DNS_ROUND_ROBIN": "ztunnel resolves the host itself and connects to the answer",
               "STATIC": "ztunnel connects to one of its endpoints",
               "DYNAMIC_DNS": "without a waypoint a DYNAMIC_DNS entry is not sent to ztunnel at all",
               "NONE": "resolution NONE: ztunnel forwards to the original destination (1.28+)" + (
                   "" if view.install.ztunnel.at_least(1, 28) else
                   f"; ztunnel {view.install.ztunnel} predates it and rejects the entry (NACK)")}.get(
            se.resolution or "NONE", "")
        reasons.append(f"{dialed} is the address of ServiceEntry {se_key}, which has no egress waypoint: "
                       f"the client's ztunnel sends plain TCP out ({how})")
        if entry.host.startswith("*") and (binding is None or binding.waypoint is None):
            # pilot/pkg/model/service.go: condition istio.io/WaypointMissing, reason NoWaypointForWildcardService
            warnings.append(f"ServiceEntry {se_key} has the wildcard host {entry.host} and no waypoint: istiod reports "
                            "WaypointMissing/NoWaypointForWildcardService, 'ServiceEntry will not apply until it is "
                            "bound to a valid waypoint.'")
        if binding is not None and binding.problem:
            warnings.append(f"ServiceEntry {se_key} asks for waypoint {binding.requested} but it is not bound "
                            f"({binding.problem_reason}: {binding.problem}): traffic goes out without it (fail-open)")
    else:
        reasons.append(f"{shown} is no address ztunnel knows: it passes the connection through as plain TCP "
                       "(outbound.rs: 'built request as passthrough; no upstream found')")
        if eg.outbound_policy(view.install.mesh_config) == "REGISTRY_ONLY":
            reasons.append("meshConfig.outboundTrafficPolicy is REGISTRY_ONLY, but ztunnel does not enforce it "
                           "(only sidecars and waypoints do): the connection still goes out")
    skipped = dns_entry_for_host
    if skipped is not None and (entry is None or entry.entry is not skipped.entry):
        b = view.service_entry_waypoint(skipped.entry)
        if b.waypoint is not None:
            if dns.get("capture") is False:
                fid, why = "egress-waypoint-skipped-no-dns-capture", f"DNS capture is off for this pod ({dns['why']})"
            else:
                fid, why = "egress-waypoint-skipped-no-address", "the ServiceEntry has no address to answer with"
            msg = skipped_egress_message(b.waypoint.key, skipped.entry.meta.key, why, shown)
            warnings.append(msg)
            findings.append(_flow_finding(fid, "warning", msg, (
                *((f"Pod/{src.pod.meta.key}",) if src.pod else ()), f"ServiceEntry/{skipped.entry.meta.key}",
                f"Gateway/{b.waypoint.key}")))
    return Egress(Plan("plaintext-passthrough", hops, [], reasons, warnings), dns, entry, binding, dialed, findings)


def port_for(entry: eg.EntryMatch | None, port: int | None, ref: str) -> int:
    from ambientctl.errors import UsageError

    if port is not None:
        return port
    if entry is not None and len(entry.entry.ports) == 1:
        return entry.entry.ports[0].port
    raise UsageError(f"{ref!r}: give a port (HOST:PORT or --port)")


def describe_destination(host: str, port: int, dialed: str, entry: eg.EntryMatch | None) -> dict[str, Any]:
    d: dict[str, Any] = {"ref": f"{host}:{port}" if host else f"{dialed}:{port}",
                         "kind": "ServiceEntry" if entry is not None else ("Host" if host else "IP"),
                         "ip": dialed or None, "port": port, "host": host or None}
    if entry is not None:
        se: o.ServiceEntry = entry.entry
        d.update(namespace=se.meta.namespace, name=se.meta.name, resolution=se.resolution or "NONE",
                 serviceEntryHost=entry.host)
    return d


def skipped_egress_message(wp_key: str, se_key: str, why: str, shown: str) -> str:
    return (f"egress waypoint {wp_key} of ServiceEntry {se_key} is skipped: {why}, so the client dials {shown} and "
            "its ztunnel passes it through — the waypoint's policies and routes do not apply (istio#54896)")


def egress_findings(view: MeshView, pod: o.Pod) -> list[dict[str, Any]]:
    """describe's side of `egress-waypoint-skipped-no-dns-capture`: a captured pod without DNS capture reaches
    every ServiceEntry host bound to an egress waypoint at its public address, around the waypoint."""
    if not view.version.current or view.enrollment(pod).mode != "ambient":
        return []
    dc = eg.dns_capture(pod, view.install.cni_settings, view.version.at_least(1, 25))
    if dc.on:
        return []
    out = []
    for se in view.cluster.service_entries:
        if view.version.at_least(1, 31) and not eg.visible_to(se, pod.meta.namespace, view.install.mesh_config,
                                                               view.cluster.namespace_labels(se.meta.namespace)):
            continue
        b = view.service_entry_waypoint(se)
        if b.waypoint is None or not se.hosts:
            continue
        out.append(_flow_finding("egress-waypoint-skipped-no-dns-capture", "warning", skipped_egress_message(
            b.waypoint.key, se.meta.key, f"DNS capture is off for this pod ({dc.why})",
            f"{', '.join(se.hosts)} at the public address"), (f"ServiceEntry/{se.meta.key}", f"Gateway/{b.waypoint.key}")))
    return out
