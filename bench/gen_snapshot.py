#!/usr/bin/env python3
"""Generate a synthetic cluster snapshot for the budgets in design.md §6: by default 5,000 pods, 2,000 services
and 500 AuthorizationPolicies across 50 ambient namespaces and 20 nodes, with istiod, ztunnels and waypoints,
written as `kubectl get -o json` would (one `kind: List`).

usage: bench/gen_snapshot.py OUT.json [--pods N] [--services N] [--policies N] [--yaml]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys


def build(pods: int, services: int, policies: int, namespaces: int = 50, nodes: int = 20, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    items: list[dict] = []
    node_names = [f"node-{i:03d}" for i in range(nodes)]
    for i, n in enumerate(node_names):
        items.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": n},
                      "status": {"addresses": [{"type": "InternalIP", "address": f"172.16.0.{i + 10}"}]}})
        items.append(_pod(f"ztunnel-{i:05x}", "istio-system", {"app": "ztunnel"}, "ztunnel", n, f"172.18.{i}.2",
                          owner=("DaemonSet", "ztunnel"), image="docker.io/istio/ztunnel:1.28.0"))
    items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}})
    items.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "istiod", "namespace": "istio-system"},
                  "spec": {"selector": {"matchLabels": {"app": "istiod"}}, "template": {
                      "metadata": {"labels": {"app": "istiod"}},
                      "spec": {"containers": [{"name": "discovery", "image": "docker.io/istio/pilot:1.28.0",
                                               "env": [{"name": "PILOT_ENABLE_AMBIENT", "value": "true"}]}]}}}})
    items.append({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ztunnel", "namespace": "istio-system"},
                  "spec": {"selector": {"matchLabels": {"app": "ztunnel"}}, "template": {
                      "metadata": {"labels": {"app": "ztunnel"}},
                      "spec": {"containers": [{"name": "istio-proxy", "image": "docker.io/istio/ztunnel:1.28.0"}]}}}})

    per_ns_pods = pods // namespaces
    per_ns_svcs = services // namespaces
    per_ns_pols = policies // namespaces
    ip = 0
    for k in range(namespaces):
        ns = f"team-{k:02d}"
        ns_labels = {"istio.io/dataplane-mode": "ambient"}
        if k % 5 == 0:
            ns_labels["istio.io/use-waypoint"] = "waypoint"
            items.append(_waypoint(ns, f"10.96.{k}.250"))
        items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": ns_labels}})
        apps = [f"app-{j:03d}" for j in range(per_ns_svcs)]
        for j in range(per_ns_pods):
            app = apps[j % len(apps)]
            ip += 1
            labels = {"app": app, "version": "v1", "pod-template-hash": "5d7f8c9b4"}
            items.append(_pod(f"{app}-v1-5d7f8c9b4-{j:05x}", ns, labels, app, rnd.choice(node_names),
                              f"10.{100 + ip // 65536}.{(ip // 256) % 256}.{ip % 256}",
                              owner=("ReplicaSet", f"{app}-v1-5d7f8c9b4"),
                              annotations={"ambient.istio.io/redirection": "enabled"}))
        for j, app in enumerate(apps):
            items.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": app, "namespace": ns},
                          "spec": {"clusterIP": f"10.96.{k}.{j + 1}", "selector": {"app": app},
                                   "ports": [{"name": "http", "port": 8080, "targetPort": 8080}]}})
        for j in range(per_ns_pols):
            target = apps[j % len(apps)]
            callers = [f"cluster.local/ns/{ns}/sa/{apps[(j + d) % len(apps)]}" for d in (1, 2, 3)]
            spec: dict = {"action": "ALLOW" if j % 4 else "DENY",
                          "rules": [{"from": [{"source": {"principals": callers}}],
                                     "to": [{"operation": {"ports": ["8080"]}}]}]}
            if j % 3 == 0:
                spec["selector"] = {"matchLabels": {"app": target}}
            else:
                spec["targetRefs"] = [{"kind": "Service", "group": "", "name": target}]
            items.append({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                          "metadata": {"name": f"policy-{j:03d}", "namespace": ns}, "spec": spec})
    return items


def _pod(name, ns, labels, sa, node, ip, owner=None, annotations=None, image="example/app:1.0"):
    md = {"name": name, "namespace": ns, "labels": labels, "annotations": annotations or {}}
    if owner:
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {"nodeName": node, "serviceAccountName": sa,
                     "containers": [{"name": "app", "image": image, "ports": [{"containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def _waypoint(ns, addr):
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": "waypoint", "namespace": ns},
            "spec": {"gatewayClassName": "istio-waypoint",
                     "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]},
            "status": {"addresses": [{"type": "IPAddress", "value": addr}],
                       "conditions": [{"type": "Programmed", "status": "True"}]}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--pods", type=int, default=5000)
    ap.add_argument("--services", type=int, default=2000)
    ap.add_argument("--policies", type=int, default=500)
    ap.add_argument("--namespaces", type=int, default=50)
    ap.add_argument("--yaml", action="store_true", help="write multi-document YAML instead of a JSON List")
    a = ap.parse_args()
    items = build(a.pods, a.services, a.policies, namespaces=a.namespaces)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        if a.yaml:
            import yaml

            yaml.safe_dump_all(items, f, sort_keys=False)
        else:
            json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)
    os.replace(tmp, a.out)
    counts: dict[str, int] = {}
    for it in items:
        counts[it["kind"]] = counts.get(it["kind"], 0) + 1
    print(f"wrote {a.out}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
