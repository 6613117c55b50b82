"""`explain --matrix -n NS`: every workload of a namespace against every service port of the namespace's
workloads (a workload without a service is addressed by pod IP), as an allow/deny table with the deciding
component and policy per cell.

Each workload is represented by one pod (a Deployment's pods share labels, identity and policy). Cells reuse the
single-request engine, so a cell says exactly what `explain SRC DST` would.
"""

from __future__ import annotations

from typing import Any

from ambientctl.explain.engine import explain_resolved, unread_warnings
from ambientctl.explain.path import party_for_pod
from ambientctl.explain.target import Target
from ambientctl.mesh.refs import workload_name
from ambientctl.mesh.view import MeshView
from ambientctl.model import objects as o

SYSTEM_ROLES = ("ztunnel", "istio-cni", "istiod", "waypoint")


def _workloads(view: MeshView, namespace: str) -> list[tuple[str, o.Pod]]:
    chosen: dict[str, o.Pod] = {}
    for p in sorted(view.cluster.pods_in(namespace), key=lambda p: (not p.ready, not p.ip, p.meta.name)):
        if view.enrollment(p).role in SYSTEM_ROLES:
            continue
        kind, name = workload_name(p)
        chosen.setdefault(f"{kind.lower()}/{name}", p)
    return sorted(chosen.items())


def _targets(view: MeshView, workload: str, pod: o.Pod) -> list[tuple[str, Target]]:
    out = []
    for svc in sorted(view.services_for(pod), key=lambda s: s.meta.name):
        vips = [ip for ip in svc.cluster_ips if ip and ip != "None"]
        for sp in svc.ports:
            out.append((f"{svc.meta.name}:{sp.port}",
                        Target(f"{svc.meta.name}:{sp.port}", "service" if vips else "pod", vips[0] if vips else pod.ip,
                               sp.port, svc, sp, sorted(view.pods_for(svc), key=lambda p: p.meta.name))))
    if not out and pod.ip:
        for port in sorted({p for c in pod.containers for p in c.ports})[:1]:
            out.append((f"{workload} (pod IP):{port}", Target(workload, "pod", pod.ip, port, endpoints=[pod])))
    return [(label, t) for label, t in out if t.ip or t.endpoints]  # a headless service of Pending pods: nothing


def matrix(view: MeshView, namespace: str, *, protocol: str = "tcp", method: str = "GET",
           path: str = "/") -> dict[str, Any]:
    workloads = _workloads(view, namespace)
    # a workload none of whose pods has an IP yet (Pending in a rollout) can neither send nor be reached
    notes = [f"{name}: no pod with an IP yet ({pod.phase or 'no phase'}); left out" for name, pod in workloads
             if not pod.ip] + unread_warnings(view)
    workloads = [(name, pod) for name, pod in workloads if pod.ip]
    sources = [(name, party_for_pod(view, pod, name)) for name, pod in workloads]
    destinations = list({label: t for name, pod in workloads for label, t in _targets(view, name, pod)}.items())
    cells = []
    counts = {"allow": 0, "deny": 0}
    for sname, src in sources:
        for dlabel, tgt in destinations:
            e = explain_resolved(view, src, tgt, protocol=protocol, method=method, path=path, with_findings=False)
            counts[e["verdict"]] += 1
            cells.append({"source": sname, "destination": dlabel, "verdict": e["verdict"], "path": e["path"],
                          "enforcedBy": e["enforcedBy"], "decidedBy": e["decidedBy"]})
    return {
        "namespace": namespace,
        "request": {"protocol": protocol} | ({"method": method, "path": path} if protocol == "http" else {}),
        "sources": [name for name, _ in sources],
        "destinations": [label for label, _ in destinations],
        "cells": cells,
        "summary": counts,
        "istioVersion": view.version.label,
    } | ({"notes": notes} if notes else {})
