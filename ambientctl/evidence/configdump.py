"""ztunnel `/config_dump` -> neutral data, and where it disagrees with what the cluster says it should hold.

The dump's shape drifted with every release (realdata/istio-istio/ztunnel-configdump/history, research/istio.md
§2.2), so the reader accepts all of them:
- 2023-04 (1.18 pre-release): `workloads` keyed by IP with `workloadIp`, `waypointAddresses`, `nativeHbone`;
  services as `vips: {"vip:port": [[ip, port]]}`; snake_case certificates with `ca_cert`/`cert_chain`.
- 2023-05: `/ip` keys, `waypoint.destination` as `{"address": "Address", "content": "/ip"}`, `services_by_ip`
  with `addresses`, `nativeTunnel`.
- 2023-08 .. 2024-03: `by_addr`/`by_uid`/`by_vip`/`workload_to_services`.
- 2024-04 on: `workloads`/`services` (maps in istioctl's fixtures, arrays from ztunnel itself), `policies` (list;
  a map keyed `ns/name` before), `certificates` with camelCase `certChain`, `workloadState`.
- fragments pasted in issues (not valid JSON): whole workload objects are salvaged, and the result says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ambientctl.errors import InputError
from ambientctl.words import count


@dataclass
class DumpWorkload:
    uid: str
    name: str
    namespace: str
    ips: list[str] = field(default_factory=list)
    node: str = ""
    service_account: str = ""
    protocol: str = ""  # HBONE | TCP: what ztunnel sends to it
    waypoint: str = ""  # waypoint.destination: "<network>/<ip>" or "<ns>/<hostname>"
    authorization_policies: list[str] = field(default_factory=list)
    status: str = ""
    network: str = ""
    trust_domain: str = ""
    workload_name: str = ""
    workload_type: str = ""
    native_tunnel: bool = False
    services: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class DumpEndpoint:
    workload_uid: str
    address: str = ""
    ports: dict[int, int] = field(default_factory=dict)
    status: str = ""


@dataclass
class DumpService:
    name: str
    namespace: str
    hostname: str
    vips: list[str] = field(default_factory=list)  # bare IPs (the network prefix is in vips_raw)
    ports: dict[int, int] = field(default_factory=dict)
    endpoints: list[DumpEndpoint] = field(default_factory=list)
    waypoint: str = ""
    subject_alt_names: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class DumpPolicy:
    name: str
    namespace: str
    scope: str = ""
    action: str = ""
    rules: list[Any] = field(default_factory=list)
    dry_run: bool = False

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class DumpCert:
    serial: str = ""
    valid_from: str = ""
    expiration: str = ""

    @property
    def expires(self) -> datetime | None:
        return _rfc3339(self.expiration)


@dataclass
class DumpCertificate:
    identity: str
    state: str
    chain: list[DumpCert] = field(default_factory=list)
    roots: list[DumpCert] = field(default_factory=list)


@dataclass
class DumpConnection:
    src: str
    original_dst: str
    actual_dst: str
    protocol: str


@dataclass
class DumpWorkloadState:
    uid: str  # the Kubernetes pod metadata.uid (ZDS), not the WDS uid
    name: str
    namespace: str
    service_account: str
    state: str
    inbound: list[DumpConnection] = field(default_factory=list)
    outbound: list[DumpConnection] = field(default_factory=list)


@dataclass
class ZtunnelConfig:
    schema: str  # which generation of the dump format was read
    workloads: list[DumpWorkload] = field(default_factory=list)
    services: list[DumpService] = field(default_factory=list)
    policies: list[DumpPolicy] | None = None  # None: the dump has no policy section (old schemas)
    certificates: list[DumpCertificate] = field(default_factory=list)
    workload_state: list[DumpWorkloadState] = field(default_factory=list)
    local_node: str = ""
    version: str = ""
    partial: bool = False  # salvaged from a fragment
    notes: list[str] = field(default_factory=list)

    def service_by_vip(self, ip: str) -> DumpService | None:
        return next((s for s in self.services if ip in s.vips), None)

    def workload_by_ip(self, ip: str) -> DumpWorkload | None:
        return next((w for w in self.workloads if ip in w.ips), None)

    def workload_by_uid(self, uid: str) -> DumpWorkload | None:
        return next((w for w in self.workloads if w.uid == uid), None)


# -- reading --------------------------------------------------------------------------------------------------
def _rfc3339(s: str) -> datetime | None:
    if not s:
        return None
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None


def _strip_net(addr: Any) -> str:
    """`network1/10.0.0.1` or `/10.0.0.1` -> `10.0.0.1`; `{"address": "Address", "content": "/ip"}` -> ip."""
    if isinstance(addr, dict):
        addr = addr.get("content") or addr.get("address") or ""
        if isinstance(addr, dict):
            return _strip_net(addr)
    s = str(addr or "")
    return s.split("/", 1)[1] if "/" in s and re.match(r"^[^/]*/\d", s) else s


def _waypoint_dest(w: dict[str, Any]) -> str:
    wp = w.get("waypoint")
    if isinstance(wp, dict):
        d = wp.get("destination")
        if isinstance(d, dict):
            d = d.get("content") or d.get("address") or ""
            if isinstance(d, dict):
                d = _strip_net(d)
        return str(d or "")
    addrs = w.get("waypointAddresses")
    if isinstance(addrs, list) and addrs:
        a = addrs[0]
        return a if isinstance(a, str) and a.startswith("/") else f"/{_strip_net(a)}"
    return ""


def _port(v: Any) -> int | None:
    """A port number from a dump (an integer or its digits), None for anything else."""
    if isinstance(v, str) and v.isascii() and v.isdigit() and len(v) <= 5:
        v = int(v)
    return v if type(v) is int and 0 <= v <= 65535 else None


def _ports(m: Any) -> dict[int, int]:
    out: dict[int, int] = {}
    if isinstance(m, dict):
        for k, v in m.items():
            port, target = _port(k), _port(v)
            if port is not None and target is not None:
                out[port] = target
    return out


def _dict(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def _list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else []


def _workload(w: dict[str, Any], key: str = "") -> DumpWorkload:
    ips = w.get("workloadIps")
    if not isinstance(ips, list):
        ips = [w["workloadIp"]] if w.get("workloadIp") else []
    if not ips and key:
        ips = [_strip_net(key)]
    return DumpWorkload(
        uid=str(w.get("uid") or ""), name=str(w.get("name") or ""), namespace=str(w.get("namespace") or ""),
        ips=[_strip_net(i) for i in ips], node=str(w.get("node") or ""),
        service_account=str(w.get("serviceAccount") or ""), protocol=str(w.get("protocol") or ""),
        waypoint=_waypoint_dest(w), authorization_policies=[str(p) for p in _list(w.get("authorizationPolicies"))],
        status=str(w.get("status") or ""), network=str(w.get("network") or ""),
        trust_domain=str(w.get("trustDomain") or ""), workload_name=str(w.get("workloadName") or ""),
        workload_type=str(w.get("workloadType") or ""),
        native_tunnel=bool(w.get("nativeTunnel", w.get("nativeHbone", False))),
        services=[str(s) for s in _list(w.get("services"))],
    )


def _service(s: dict[str, Any]) -> DumpService:
    eps: list[DumpEndpoint] = []
    raw_eps = s.get("endpoints")
    items = raw_eps.items() if isinstance(raw_eps, dict) else enumerate(_list(raw_eps))
    for k, e in items:
        if not isinstance(e, dict):
            continue
        uid = str(e.get("workloadUid") or "")
        addr = _strip_net(e.get("address") or "")
        if not uid and not addr and isinstance(k, str):
            addr = _strip_net(k)
        eps.append(DumpEndpoint(uid, addr, _ports(e.get("port")), str(e.get("status") or "")))
    wp = s.get("waypoint")
    waypoint = ""
    if isinstance(wp, dict):
        d = wp.get("destination")
        waypoint = _strip_net(d) if isinstance(d, dict) else str(d or "")
    vips = s.get("vips") if isinstance(s.get("vips"), list) else _list(s.get("addresses"))
    return DumpService(
        name=str(s.get("name") or ""), namespace=str(s.get("namespace") or ""), hostname=str(s.get("hostname") or ""),
        vips=[_strip_net(v) for v in vips], ports=_ports(s.get("ports")), endpoints=eps, waypoint=waypoint,
        subject_alt_names=[str(x) for x in _list(s.get("subjectAltNames"))])


def _certs(lst: Any) -> list[DumpCert]:
    out = []
    for c in _list(lst):
        if isinstance(c, dict):
            out.append(DumpCert(str(c.get("serialNumber") or c.get("serial_number") or ""),
                                str(c.get("validFrom") or c.get("valid_from") or ""),
                                str(c.get("expirationTime") or c.get("expiration_time") or "")))
    return out


def _values(x: Any) -> list[Any]:
    if isinstance(x, dict):
        return list(x.items())
    if isinstance(x, list):
        return [("", v) for v in x]
    return []


def _conns(lst: Any) -> list[DumpConnection]:
    return [DumpConnection(str(c.get("src") or ""), str(c.get("originalDst") or ""), str(c.get("actualDst") or ""),
                           str(c.get("protocol") or "")) for c in _list(lst) if isinstance(c, dict)]


def parse_config_dump(doc: Any, where: str = "config_dump") -> ZtunnelConfig:
    """A decoded `/config_dump` document (any schema generation) -> ZtunnelConfig. Raises InputError naming
    `where` when the document is not a ztunnel config dump."""
    if not isinstance(doc, dict):
        raise InputError(f"{where}: not a ztunnel config_dump (a JSON {type(doc).__name__}, expected an object)")
    if "by_addr" in doc or "by_uid" in doc:
        schema, wl_src, svc_src = "2023-08", doc.get("by_addr") or doc.get("by_uid"), doc.get("by_vip")
    elif "workload_to_vip" in doc or ("vips" in doc and isinstance(doc.get("vips"), dict)):
        schema, wl_src, svc_src = "2023-04", doc.get("workloads"), None
    elif "services_by_ip" in doc or "services_by_hostname" in doc:
        schema, wl_src, svc_src = "2023-05", doc.get("workloads"), doc.get("services_by_ip")
    elif "workloads" in doc or "services" in doc or "certificates" in doc:
        schema, wl_src, svc_src = "current", doc.get("workloads"), doc.get("services")
    else:
        raise InputError(f"{where}: not a ztunnel config_dump (no workloads, services or certificates; keys: "
                         f"{', '.join(sorted(doc)[:8]) or 'none'})")
    cfg = ZtunnelConfig(schema=schema)
    seen: set[str] = set()
    for key, w in _values(wl_src):
        if not isinstance(w, dict):
            continue
        wl = _workload(w, key)
        ident = wl.uid or f"{wl.key}@{','.join(wl.ips)}"
        if ident in seen:
            continue
        seen.add(ident)
        cfg.workloads.append(wl)
    if schema == "2023-08" and isinstance(doc.get("workload_to_services"), dict):
        for w in cfg.workloads:
            w.services = [str(s) for s in _list(doc["workload_to_services"].get(w.uid))]
    by_name: dict[tuple[str, str], DumpService] = {}
    for _k, s in _values(svc_src):
        if isinstance(s, dict):
            svc = _service(s)
            same = by_name.get((svc.namespace, svc.name)) if svc.name else None
            if same is None:  # 2023-05 dumps key services by IP: one service with two VIPs is listed twice
                by_name[(svc.namespace, svc.name)] = svc
                cfg.services.append(svc)
                continue
            same.vips += [v for v in svc.vips if v not in same.vips]
            same.ports.update(svc.ports)
            known = {(e.workload_uid, e.address) for e in same.endpoints}
            same.endpoints += [e for e in svc.endpoints if (e.workload_uid, e.address) not in known]
    if schema == "2023-04":
        cfg.services = _services_2023_04(doc)
        cfg.notes.append("2023-04 dumps list services only as VIP:port -> endpoint IPs (no names)")
    pol = doc.get("policies")
    if isinstance(pol, list | dict):
        cfg.policies = []
        for k, p in _values(pol):
            if not isinstance(p, dict):
                continue
            name, ns = str(p.get("name") or ""), str(p.get("namespace") or "")
            if not name and isinstance(k, str) and "/" in k:
                ns, name = k.split("/", 1)
            cfg.policies.append(DumpPolicy(name, ns, str(p.get("scope") or ""), str(p.get("action") or ""),
                                           _list(p.get("rules")), bool(p.get("dryRun", False))))
    else:
        cfg.notes.append("this dump has no policies section: policy comparison is not possible")
    for c in _list(doc.get("certificates")):
        if not isinstance(c, dict):
            continue
        chain = c.get("certChain") if "certChain" in c else c.get("cert_chain")
        roots = c.get("rootCerts") if "rootCerts" in c else c.get("ca_cert") or c.get("root_certs")
        cfg.certificates.append(DumpCertificate(str(c.get("identity") or ""), str(c.get("state") or ""),
                                                _certs(chain), _certs(roots)))
    for uid, st in _values(doc.get("workloadState")):
        if not isinstance(st, dict):
            continue
        info = _dict(st.get("info"))
        conns = _dict(st.get("connections"))
        cfg.workload_state.append(DumpWorkloadState(
            str(uid), str(info.get("name") or ""), str(info.get("namespace") or ""),
            str(info.get("serviceAccount") or ""), str(st.get("state") or ""), _conns(conns.get("inbound")),
            _conns(conns.get("outbound"))))
    cfg.local_node = str(doc.get("local_node") or _dict(doc.get("config")).get("localNode") or "")
    ver = doc.get("version")
    if isinstance(ver, dict):
        cfg.version = str(ver.get("istioVersion") or ver.get("istio_version") or ver.get("version") or "")
    return cfg


def _services_2023_04(doc: dict[str, Any]) -> list[DumpService]:
    by_vip: dict[str, DumpService] = {}
    for vip_port, eps in _dict(doc.get("vips")).items():
        vip, _, port = str(vip_port).rpartition(":")
        svc = by_vip.setdefault(vip, DumpService(name="", namespace="", hostname="", vips=[vip]))
        for ep in _list(eps):
            if isinstance(ep, list) and len(ep) == 2:
                ports = _ports({port: ep[1]})
                svc.endpoints.append(DumpEndpoint("", str(ep[0]), ports))
                svc.ports.update(ports)
    return list(by_vip.values())


_WORKLOAD_KEY = re.compile(r'"((?:[\w-]*/)?[0-9a-fA-F:.]+)"\s*:\s*\{')


def parse_config_dump_text(text: str, where: str = "config_dump") -> ZtunnelConfig:
    """A config_dump as text. Valid JSON goes through parse_config_dump; a fragment (e.g. pasted into an issue)
    yields the complete workload objects found in it, marked `partial`."""
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if doc is not None:
        return parse_config_dump(doc, where)
    # Fragments: pastes often wrap lines mid-token; JSON never needs a raw newline, so drop them.
    flat = "".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    cfg = ZtunnelConfig(schema="fragment", partial=True)
    dec = json.JSONDecoder()
    first = _WORKLOAD_KEY.search(flat)
    head = flat[: first.start()] if first else flat
    # The paste may start inside a workload object: keep the tail of it (its name is usually lost).
    for i in (m.start() for m in re.finditer(r'[{,]"', head)):
        try:
            obj, _end = dec.raw_decode("{" + flat[i + 1:])
        except ValueError:
            continue
        if isinstance(obj, dict) and {"protocol", "node", "status", "authorizationPolicies"} & set(obj):
            cfg.workloads.append(_workload(obj))
            cfg.notes.append(f"{where}: the first workload is cut at its start; only its trailing fields are known")
        break
    for m in _WORKLOAD_KEY.finditer(flat):
        try:
            obj, _end = dec.raw_decode(flat, m.end() - 1)
        except ValueError:
            continue
        if isinstance(obj, dict) and ("workloadIp" in obj or "workloadIps" in obj):
            cfg.workloads.append(_workload(obj, m[1]))
    if not cfg.workloads:
        raise InputError(f"{where}: neither JSON nor a config_dump fragment with complete workload objects")
    cfg.notes.append(f"{where}: not valid JSON; read {count(len(cfg.workloads), 'workload object')} from a "
                     "fragment, everything else is unknown")
    return cfg


# -- drift against the cluster ---------------------------------------------------------------------------------
@dataclass
class Drift:
    kind: str  # missing-workload | stale-workload | stale-ip | stale-node | captured-but-tcp | hbone-not-captured
    #            | waypoint-mismatch | missing-service | stale-service | service-vip-mismatch | missing-policy
    #            | extra-policy | certificate-not-available | certificate-expiring | certificate-expired
    severity: str  # error | warning | info
    subject: str  # "Pod default/sleep-…", "AuthorizationPolicy default/deny-all", "identity spiffe://…"
    message: str
    expected: Any = None
    observed: Any = None

    def to_dict(self) -> dict[str, Any]:
        d = {"kind": self.kind, "severity": self.severity, "subject": self.subject, "message": self.message}
        if self.expected is not None:
            d["expected"] = self.expected
        if self.observed is not None:
            d["observed"] = self.observed
        return d


# Policies istiod generates for ztunnel that no AuthorizationPolicy object names one to one.
GENERATED_POLICY = re.compile(r"(^|/)(istio_converted_static_strict|converted_peer_authentication_|"
                              r"istio_allow_waypoint|istio_waypoint)")


def diff_config_dump(cfg: ZtunnelConfig, view: Any, *, now: datetime | None = None,
                     expiry_warning: timedelta = timedelta(hours=2)) -> list[Drift]:
    """What `cfg` (one ztunnel's config) disagrees with in the cluster `view` (an ambientctl.mesh.MeshView):
    stale or missing workloads, captured pods ztunnel treats as TCP, waypoint bindings, services, policy keys,
    and certificates that are not Available or about to expire."""
    from ambientctl.mesh.view import MeshView

    assert isinstance(view, MeshView)
    now = now or datetime.now(UTC)
    out: list[Drift] = []
    out += _diff_workloads(cfg, view)
    out += _diff_services(cfg, view)
    out += _diff_policies(cfg, view)
    out += _diff_certificates(cfg, now, expiry_warning)
    return out


def _pod_key(w: DumpWorkload) -> str | None:
    m = re.search(r"//Pod/([^/]+)/([^/]+)$", w.uid)
    if m:
        return f"{m[1]}/{m[2]}"
    if not w.uid and w.name and w.namespace:  # 2023-04 dumps have no uid; they listed pods only
        return w.key
    return None


def _diff_workloads(cfg: ZtunnelConfig, view: Any) -> list[Drift]:
    out: list[Drift] = []
    cluster = view.cluster
    pods = {p.meta.key: p for p in cluster.pods}
    known_ns = set(cluster.namespaces) | {p.meta.namespace for p in cluster.pods}
    dumped: dict[str, DumpWorkload] = {}
    for w in cfg.workloads:
        k = _pod_key(w)
        if k is not None:
            dumped[k] = w
    for key, w in sorted(dumped.items()):
        pod = pods.get(key)
        if pod is None:
            if w.namespace in known_ns and not cfg.partial:
                out.append(Drift("stale-workload", "warning", f"Pod {key}", f"ztunnel still has pod {key} "
                                 f"({', '.join(w.ips)}), which the cluster no longer has: a deleted pod istiod has not "
                                 "removed, or a snapshot older than the dump", None, w.ips))
            continue
        if pod.host_network:
            continue
        want_ips = sorted(pod.ips or ([pod.ip] if pod.ip else []))
        if want_ips and sorted(w.ips) != want_ips:
            out.append(Drift("stale-ip", "error", f"Pod {key}", f"ztunnel has {key} at {', '.join(w.ips) or 'no IP'}, "
                             f"the cluster at {', '.join(want_ips)}: traffic for the new IP will not be matched to "
                             "this pod (stale xDS or a recycled IP)", want_ips, sorted(w.ips)))
        if pod.node_name and w.node and pod.node_name != w.node:
            out.append(Drift("stale-node", "error", f"Pod {key}", f"ztunnel places {key} on node {w.node}, the cluster "
                             f"on {pod.node_name}", pod.node_name, w.node))
        enr = view.enrollment(pod)
        if enr.mode == "ambient" and w.protocol == "TCP":
            out.append(Drift("captured-but-tcp", "error", f"Pod {key}", f"{key} is in the mesh ({enr.reason}) but "
                             "ztunnel sends it plain TCP (protocol TCP): callers skip mTLS and its policies see no "
                             "identity; istio-cni has not (yet) enrolled it, or the dump predates the label",
                             "HBONE", "TCP"))
        elif enr.mode != "ambient" and w.protocol == "HBONE" and enr.role == "workload":
            out.append(Drift("hbone-not-captured", "error", f"Pod {key}", f"ztunnel sends HBONE to {key}, but the "
                             f"cluster says it is not in the mesh ({enr.reason}): callers will fail to connect",
                             "TCP", "HBONE"))
        out += _diff_pod_waypoint(cfg, view, pod, w)
    for key, pod in sorted(pods.items()):
        if key in dumped or pod.host_network or cfg.partial or not (pod.ip or pod.ips):
            continue
        enr = view.enrollment(pod)
        if enr.mode == "ambient":
            out.append(Drift("missing-workload", "error", f"Pod {key}", f"ztunnel has no workload for {key}, which "
                             f"is in the mesh ({enr.reason}): its traffic is unknown to this ztunnel (not pushed "
                             "yet, or the dump is older than the pod)", pod.ip, None))
    return out


def _waypoint_pods_of(cfg: ZtunnelConfig, dest: str) -> tuple[set[str], str]:
    """Pods (ns/name) behind a waypoint destination, and a label for it."""
    if not dest:
        return set(), ""
    if re.match(r"^[^/]*/\d", dest) or re.match(r"^\d", dest):
        ip = _strip_net(dest)
        svc = cfg.service_by_vip(ip)
        if svc is not None:
            pods = {_uid_pod(e.workload_uid) or "" for e in svc.endpoints} | {
                k for e in svc.endpoints for w in [cfg.workload_by_ip(e.address)] if w for k in [_pod_key(w)] if k}
            return {p for p in pods if p}, f"{svc.namespace}/{svc.name} ({ip})"
        w = cfg.workload_by_ip(ip)
        if w is not None:
            return {_pod_key(w) or w.key}, f"{w.key} ({ip})"
        return set(), dest
    _ns, _, host = dest.partition("/")
    svc = next((s for s in cfg.services if s.hostname == host), None)
    if svc is not None:
        return {_uid_pod(e.workload_uid) or "" for e in svc.endpoints} - {""}, f"{svc.namespace}/{svc.name}"
    return set(), dest


def _uid_pod(uid: str) -> str | None:
    m = re.search(r"//Pod/([^/]+)/([^/]+)$", uid or "")
    return f"{m[1]}/{m[2]}" if m else None


def _expected_names(wp: Any) -> set[str]:
    """Service names a waypoint Gateway is reachable as: its own name (1.22+), `<name>-istio-waypoint` (1.18-1.21)."""
    return {wp.key, f"{wp.namespace}/{wp.name}-istio-waypoint"}


def _same_waypoint(cfg: ZtunnelConfig, dest: str, wp: Any) -> tuple[bool, str]:
    pods, label = _waypoint_pods_of(cfg, dest)
    want_pods = {p.meta.key for p in wp.pods}
    if pods and want_pods:
        return bool(pods & want_pods), label
    svc_key = label.split(" ", 1)[0]
    return svc_key in _expected_names(wp), label


def _diff_pod_waypoint(cfg: ZtunnelConfig, view: Any, pod: Any, w: DumpWorkload) -> list[Drift]:
    binding = view.workload_waypoint(pod)
    subject = f"Pod {pod.meta.key}"
    wp = binding.waypoint
    if wp is None and not w.waypoint:
        return []
    if wp is None:
        _pods, label = _waypoint_pods_of(cfg, w.waypoint)
        why = binding.problem_text or "no waypoint binding for this pod in the cluster"
        return [Drift("waypoint-mismatch", "error", subject, f"ztunnel sends {pod.meta.key}'s traffic to waypoint "
                      f"{label or w.waypoint}, but the cluster binds none ({why})", None, label or w.waypoint)]
    if not w.waypoint:
        if view.version.current and binding.scope == "service":
            return []
        return [Drift("waypoint-mismatch", "error", subject, f"the cluster binds {pod.meta.key} to waypoint {wp.key} "
                      f"({binding.bound_by}) but ztunnel has no waypoint for it: its traffic skips the waypoint and "
                      "L7 policy", wp.key, None)]
    same, label = _same_waypoint(cfg, w.waypoint, wp)
    if not same:
        return [Drift("waypoint-mismatch", "error", subject, f"ztunnel uses waypoint {label} for {pod.meta.key}, the "
                      f"cluster binds {wp.key} ({binding.bound_by})", wp.key, label)]
    return []


def _diff_services(cfg: ZtunnelConfig, view: Any) -> list[Drift]:
    out: list[Drift] = []
    if cfg.partial or cfg.schema == "2023-04":
        return out
    cluster = view.cluster
    domain = "svc.cluster.local"
    dumped = {(s.namespace, s.name): s for s in cfg.services if s.name}
    known_ns = set(cluster.namespaces) | {s.meta.namespace for s in cluster.services}
    has_service_waypoints = any(s.waypoint for s in cfg.services)
    for svc in cluster.services:
        if svc.headless:
            continue
        d = dumped.get((svc.meta.namespace, svc.meta.name))
        subject = f"Service {svc.meta.key}"
        if d is None:
            out.append(Drift("missing-service", "warning", subject, f"ztunnel does not know service {svc.meta.key} "
                             f"({svc.meta.name}.{svc.meta.namespace}.{domain}): connections to its VIP go out as "
                             "plain passthrough", svc.cluster_ips, None))
            continue
        want = sorted(ip for ip in svc.cluster_ips if ip and ip != "None")
        if want and sorted(d.vips) != want:
            out.append(Drift("service-vip-mismatch", "error", subject, f"ztunnel has {svc.meta.key} at "
                             f"{', '.join(d.vips)}, the cluster at {', '.join(want)}", want, sorted(d.vips)))
        if view.version.current and has_service_waypoints:
            b = view.service_waypoint(svc)
            if b.waypoint is not None and not d.waypoint:
                out.append(Drift("waypoint-mismatch", "error", subject, f"the cluster binds {svc.meta.key} to waypoint "
                                 f"{b.waypoint.key} ({b.bound_by}) but ztunnel has none for it", b.waypoint.key, None))
            elif b.waypoint is None and d.waypoint:
                out.append(Drift("waypoint-mismatch", "error", subject, f"ztunnel sends {svc.meta.key} to waypoint "
                                 f"{d.waypoint}, the cluster binds none", None, d.waypoint))
            elif b.waypoint is not None and d.waypoint:
                same, label = _same_waypoint(cfg, d.waypoint, b.waypoint)
                if not same:
                    out.append(Drift("waypoint-mismatch", "error", subject, f"ztunnel uses waypoint {label} for "
                                     f"{svc.meta.key}, the cluster binds {b.waypoint.key}", b.waypoint.key, label))
    cluster_keys = {s.meta.key for s in cluster.services}
    for (ns, name), _d in sorted(dumped.items()):
        if ns in known_ns and f"{ns}/{name}" not in cluster_keys:
            out.append(Drift("stale-service", "warning", f"Service {ns}/{name}", f"ztunnel still has service "
                             f"{ns}/{name}, which the cluster does not", None, f"{ns}/{name}"))
    return out


def _ztunnel_policy_keys(view: Any) -> set[str]:
    """AuthorizationPolicies istiod sends to ztunnel: ALLOW/DENY without targetRefs (research/istio.md §4.2)."""
    return {p.meta.key for p in view.cluster.authorization_policies
            if not p.target_refs and p.action in ("ALLOW", "DENY")}


def _diff_policies(cfg: ZtunnelConfig, view: Any) -> list[Drift]:
    if cfg.policies is None:
        return []
    out: list[Drift] = []
    want = _ztunnel_policy_keys(view)
    have = {p.key for p in cfg.policies}
    unreadable = view.cluster.unreadable.get("AuthorizationPolicy")
    for key in sorted(want - have):
        out.append(Drift("missing-policy", "error", f"AuthorizationPolicy {key}", f"the cluster has {key}, which "
                         "ztunnel enforces, but this ztunnel does not have it: not pushed yet, rejected by istiod "
                         "(see its ZtunnelAccepted status), or the dump is older than the policy", key, None))
    if unreadable:
        return out
    known_ns = set(view.cluster.namespaces) | {p.meta.namespace for p in view.cluster.authorization_policies}
    for key in sorted(have - want):
        if GENERATED_POLICY.search(key):
            continue
        ns = key.split("/", 1)[0]
        if ns not in known_ns:
            continue
        out.append(Drift("extra-policy", "warning", f"AuthorizationPolicy {key}", f"ztunnel enforces {key}, which "
                         "the cluster does not have (or has only as a targetRefs/CUSTOM policy): a deleted policy "
                         "still in effect, or a snapshot older than the dump", None, key))
    return out


def _diff_certificates(cfg: ZtunnelConfig, now: datetime, warn: timedelta) -> list[Drift]:
    out: list[Drift] = []
    for c in cfg.certificates:
        subject = f"identity {c.identity}"
        if c.state != "Available":
            bad = c.state.startswith("Unavailable") and "no longer needed" not in c.state
            out.append(Drift("certificate-not-available", "error" if bad else "warning", subject,
                             f"certificate for {c.identity} is {c.state!s}: "
                             + ("connections needing this identity fail (CA reachable? node authorized to "
                                "impersonate?)" if bad else "still being fetched; connections wait for it"),
                             "Available", c.state))
            continue
        leaf = c.chain[0] if c.chain else None
        exp = leaf.expires if leaf else None
        if exp is None:
            continue
        if exp <= now:
            out.append(Drift("certificate-expired", "error", subject, f"the leaf certificate for {c.identity} expired "
                             f"at {leaf.expiration if leaf else ''}: ztunnel failed to rotate it (CA unreachable?)",
                             f"valid at {now.isoformat()}", leaf.expiration if leaf else None))
        elif exp - now <= warn:
            out.append(Drift("certificate-expiring", "warning", subject, f"the leaf certificate for {c.identity} "
                             f"expires at {leaf.expiration if leaf else ''} (in {exp - now}); ztunnel rotates at half "
                             "life, so a certificate this close to expiry means rotation is failing",
                             f"more than {warn}", leaf.expiration if leaf else None))
    return out
