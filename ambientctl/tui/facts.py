"""What the app's tables and panes show, computed from a MeshView with no Textual in sight, so workers can run
it in a thread and tests can check it without a terminal. Widgets only ever receive these plain values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ambientctl.mesh.view import MeshView
from ambientctl.model import objects as o

ALL_NAMESPACES = "*"  # the namespace row that lists every pod (k9s `0`)


@dataclass(frozen=True, slots=True)
class NamespaceRow:
    name: str
    ambient: bool
    waypoints: int
    pods: int


@dataclass(frozen=True, slots=True)
class PodRow:
    key: str  # ns/name: the row key everywhere
    name: str
    namespace: str
    mode: str  # ambient | sidecar | none
    role: str  # workload | waypoint | ztunnel | istiod | istio-cni | gateway
    node: str
    ip: str
    waypoint: str  # "waypoint (service)", "" for none, "! ns/name not ready" for a problem
    ztunnel: str  # ready | NOT READY | missing | "" (not captured, so not relevant)

    def matches(self, needle: str) -> bool:
        """The `/` filter: a case-insensitive substring of any visible column."""
        n = needle.lower()
        return any(n in f.lower() for f in (self.key, self.mode, self.role, self.node, self.ip, self.waypoint))


def header_facts(view: MeshView) -> dict[str, str]:
    return {"source": view.cluster.source or "(unknown source)", "istio": view.version.label,
            "istioSource": view.install.version_source}


def namespace_rows(view: MeshView) -> list[NamespaceRow]:
    view.waypoints()  # fill the mesh view's caches here, in the loading worker, not later in the UI thread
    wp_count: dict[str, int] = {}
    for wp in view.waypoints().values():
        wp_count[wp.namespace] = wp_count.get(wp.namespace, 0) + 1
    names = set(view.cluster.namespaces) | {p.meta.namespace for p in view.cluster.pods}
    rows = [NamespaceRow(ALL_NAMESPACES, False, sum(wp_count.values()), len(view.cluster.pods))]
    for ns in sorted(names):
        ambient = view.cluster.namespace_labels(ns).get("istio.io/dataplane-mode") == "ambient"
        rows.append(NamespaceRow(ns, ambient, wp_count.get(ns, 0), len(view.cluster.pods_in(ns))))
    return rows


def pods_of(view: MeshView, namespace: str) -> list[o.Pod]:
    pods = view.cluster.pods if namespace == ALL_NAMESPACES else view.cluster.pods_in(namespace)
    return sorted(pods, key=lambda p: (p.meta.namespace, p.meta.name))


def pod_row(view: MeshView, pod: o.Pod) -> PodRow:
    enr = view.enrollment(pod)
    waypoint = ztunnel = ""
    if enr.mode == "ambient":
        waypoint = _waypoint_cell(view, pod)
        zt = view.ztunnel_for(pod)
        ztunnel = "missing" if zt is None else ("ready" if zt.ready else "NOT READY")
    return PodRow(pod.meta.key, pod.meta.name, pod.meta.namespace, enr.mode, enr.role, pod.node_name, pod.ip,
                  waypoint, ztunnel)


def _waypoint_cell(view: MeshView, pod: o.Pod) -> str:
    wl = view.workload_waypoint(pod)
    if wl.waypoint is not None:
        return f"{_short(pod, wl.waypoint.key)} ({'all' if wl.scope == 'all' else 'workload'})"
    problem = wl.requested if wl.problem and not wl.silent else ""
    for svc in view.services_for(pod):
        b = view.service_waypoint(svc)
        if b.waypoint is not None:
            return f"{_short(pod, b.waypoint.key)} (service)"
        if b.problem and not b.silent:
            problem = problem or b.requested
    return f"! {_short(pod, problem)} not used" if problem else ""


def _short(pod: o.Pod, key: str) -> str:
    ns, _, name = key.partition("/")
    return name if ns == pod.meta.namespace else key


def describe(view: MeshView, pod: o.Pod) -> dict[str, Any]:
    """The PodDescription body as `describe pod` makes it: the engine's findings plus the findings plugins'."""
    from ambientctl.explain.pod import describe_pod
    from ambientctl.plugins import registry
    from ambientctl.plugins.findings import add_plugin_findings

    return add_plugin_findings(view, pod, describe_pod(view, pod), registry())


def findings_of(view: MeshView, pod: o.Pod) -> tuple[int, str]:
    """(number of findings, worst severity or "") — the full describe, as `describe pod` computes it."""
    found = describe(view, pod)["findings"]
    order = ("error", "warning", "info")
    worst = min((f["severity"] for f in found), key=lambda s: order.index(s) if s in order else 3, default="")
    return len(found), worst


def explain_targets(view: MeshView, pod: o.Pod) -> list[str]:
    """How a client can address this pod, most common first: each service port (the VIP, so a service
    waypoint applies), then the pod IP on each port it serves (only a workload waypoint applies)."""
    out: list[str] = []
    target_ports: list[int] = []
    for svc in view.services_for(pod):
        for p in svc.ports:
            out.append(f"{svc.meta.name}.{svc.meta.namespace}:{p.port}")
            tp = p.target_port
            if isinstance(tp, str):
                tp = next((c.named_ports[tp] for c in pod.containers if tp in c.named_ports), 0)
            if tp and tp not in target_ports:
                target_ports.append(tp)
    for c in pod.containers:
        for port in c.ports:
            if port not in target_ports:
                target_ports.append(port)
    if pod.ip:
        host = f"[{pod.ip}]" if ":" in pod.ip else pod.ip
        out += [f"{host}:{port}" for port in target_ports]
    if not out:
        out.append(f"pod/{pod.meta.name}.{pod.meta.namespace}")
    return out


@dataclass(frozen=True, slots=True)
class PolicyEvidence:
    """One AuthorizationPolicy as YAML, with the deciding rule's line range (inclusive, 0-based) marked."""

    key: str
    origin: str
    lines: list[str]
    marked: tuple[int, int] | None = None


def policy_evidence(view: MeshView, decided_by: dict[str, Any]) -> list[PolicyEvidence]:
    """The policies an Explanation's decidedBy names, as the YAML a user would `kubectl get -o yaml`."""
    keys: list[tuple[str, int | None]] = []
    if "policy" in decided_by:
        keys.append((decided_by["policy"], decided_by.get("rule")))
    keys += [(k, None) for k in decided_by.get("defaultDeny", [])]
    by_key = {ap.meta.key: ap for ap in view.cluster.authorization_policies}
    return [policy_yaml(by_key[k], rule) for k, rule in keys if k in by_key]


def policy_yaml(ap: o.AuthorizationPolicy, rule: int | None) -> PolicyEvidence:
    import yaml

    meta: dict[str, Any] = {"name": ap.meta.name, "namespace": ap.meta.namespace}
    if ap.dry_run:
        meta["annotations"] = {"istio.io/dry-run": "true"}
    spec: dict[str, Any] = {}
    if ap.selector is not None:
        spec["selector"] = {"matchLabels": dict(ap.selector)}
    if ap.target_refs:
        spec["targetRefs"] = [{k: v for k, v in (("group", t.group), ("kind", t.kind), ("name", t.name),
                                                  ("namespace", t.namespace)) if v} for t in ap.target_refs]
    spec["action"] = ap.action
    if ap.provider:
        spec["provider"] = {"name": ap.provider}
    doc = {"apiVersion": ap.meta.api_version or "security.istio.io/v1", "kind": "AuthorizationPolicy",
           "metadata": meta, "spec": spec}
    lines = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False).splitlines()
    marked = None
    if ap.rules is not None:
        # `rules` is the last key of the last mapping, so each rule's lines can be appended and counted.
        lines.append("  rules:" if ap.rules else "  rules: []")
        for i, r in enumerate(ap.rules):
            start = len(lines)
            lines += ["  " + line for line in yaml.safe_dump([r], sort_keys=False).splitlines()]
            if i == rule:
                marked = (start, len(lines) - 1)
    return PolicyEvidence(ap.meta.key, ap.meta.origin, lines, marked)
