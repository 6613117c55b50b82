"""Write tests/evidence/data/head-dump-cluster.yaml: the cluster behind realdata's head ztunnel dump, with the
deliberate differences listed in the file's header. Run after changing them: python tests/evidence/gen_head_cluster.py"""

import json
import os
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REALDATA = Path(os.environ.get("AMBIENTCTL_REALDATA", HERE.parent / "realdata"))
d = json.loads((REALDATA / "istio-istio/ztunnel-configdump/head/dump.json").read_text())
NS = {"bookinfo": {"istio.io/dataplane-mode": "ambient"}, "default": {"istio.io/dataplane-mode": "ambient"},
      "istio-system": {}}
docs = []
for ns, labels in NS.items():
    docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})
for n in ("ambient-control-plane", "ambient-worker", "ambient-worker2"):
    docs.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": n}})
docs.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "istiod", "namespace": "istio-system"},
             "spec": {"selector": {"matchLabels": {"app": "istiod"}}, "template": {"metadata": {"labels": {"app": "istiod"}},
             "spec": {"containers": [{"name": "discovery", "image": "docker.io/istio/pilot:1.20.0"}]}}}})
docs.append({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ztunnel", "namespace": "istio-system"},
             "spec": {"selector": {"matchLabels": {"app": "ztunnel"}}, "template": {"metadata": {"labels": {"app": "ztunnel"}},
             "spec": {"containers": [{"name": "istio-proxy", "image": "docker.io/istio/ztunnel:1.20.0"}]}}}})
# Deliberate differences from the dump (tests/evidence/test_configdump.py asserts each):
MOVED_IP = {"default/sleep-7656cf8794-lxcmx": "10.244.2.99"}
MOVED_NODE = {"default/details-v1-698d88b-krdw7": "ambient-worker"}
DROPPED = {"default/reviews-v1-5b5d6494f4-c7z5w"}
for w in d["workloads"].values():
    ns, name = w["namespace"], w["name"]
    if ns not in NS or f"{ns}/{name}" in DROPPED:
        continue
    labels = {"app": w["canonicalName"]}
    if w["workloadType"] == "pod" and w["canonicalName"] == "ztunnel":
        labels = {"app": "ztunnel"}
    if w["canonicalName"] == "istiod":
        labels = {"app": "istiod"}
    if "istio-waypoint" in name:
        labels = {"gateway.networking.k8s.io/gateway-name": w["workloadName"].removesuffix("-istio-waypoint")}
    key = f"{ns}/{name}"
    ip = MOVED_IP.get(key, w["workloadIps"][0])
    docs.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
                 "spec": {"nodeName": MOVED_NODE.get(key, w["node"]), "serviceAccountName": w["serviceAccount"],
                          "containers": [{"name": "app", "image": f"example/{w['canonicalName']}:1"}]},
                 "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                            "conditions": [{"type": "Ready", "status": "True"}]}})
docs.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "newcomer-5f7d9c-abcde", "namespace": "default",
             "labels": {"app": "newcomer"}}, "spec": {"nodeName": "ambient-worker", "serviceAccountName": "default",
             "containers": [{"name": "app", "image": "example/newcomer:1"}]},
             "status": {"phase": "Running", "podIP": "10.244.1.77", "podIPs": [{"ip": "10.244.1.77"}],
                        "conditions": [{"type": "Ready", "status": "True"}]}})
VIP = {"default/productpage": "10.96.198.254"}
for s in d["services"].values():
    ns, name = s["namespace"], s["name"]
    if ns not in NS:
        continue
    vip = VIP.get(f"{ns}/{name}", s["vips"][0].split("/", 1)[1])
    sel = {"app": name} if "istio-waypoint" not in name else {"gateway.networking.k8s.io/gateway-name": name.removesuffix("-istio-waypoint")}
    if name == "kubernetes":
        sel = None
    spec = {"clusterIP": vip, "clusterIPs": [vip], "ports": [{"port": int(p), "targetPort": t} for p, t in s["ports"].items()]}
    if sel:
        spec["selector"] = sel
    docs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec})
docs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "newcomer", "namespace": "default"},
             "spec": {"clusterIP": "10.96.7.7", "clusterIPs": ["10.96.7.7"], "selector": {"app": "newcomer"},
                      "ports": [{"port": 80, "targetPort": 8080}]}})
# Waypoints, 1.20 style: namespace-wide `namespace`, and per-account ones (istio.io/for-service-account).
docs.append({"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "Gateway",
             "metadata": {"name": "namespace", "namespace": "bookinfo"},
             "spec": {"gatewayClassName": "istio-waypoint", "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]},
             "status": {"addresses": [{"type": "IPAddress", "value": "10.96.65.117"}],
                        "conditions": [{"type": "Programmed", "status": "True"}]}})
docs.append({"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "Gateway",
             "metadata": {"name": "bookinfo-productpage", "namespace": "bookinfo",
                          "annotations": {"istio.io/for-service-account": "bookinfo-productpage"}},
             "spec": {"gatewayClassName": "istio-waypoint", "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]},
             "status": {"addresses": [{"type": "IPAddress", "value": "10.96.71.36"}],
                        "conditions": [{"type": "Programmed", "status": "True"}]}})
# Difference: the cluster has a waypoint for the ratings account the dump does not know.
docs.append({"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "Gateway",
             "metadata": {"name": "bookinfo-ratings", "namespace": "bookinfo",
                          "annotations": {"istio.io/for-service-account": "bookinfo-ratings"}},
             "spec": {"gatewayClassName": "istio-waypoint", "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]},
             "status": {"addresses": [{"type": "IPAddress", "value": "10.96.88.88"}],
                        "conditions": [{"type": "Programmed", "status": "True"}]}})
# Policies: allow-nothing as in the dump; allow-waypoint deleted; deny-ratings new.
docs.append({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
             "metadata": {"name": "allow-nothing", "namespace": "default"}, "spec": {}})
docs.append({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
             "metadata": {"name": "deny-ratings", "namespace": "default"},
             "spec": {"selector": {"matchLabels": {"app": "ratings"}}, "action": "DENY",
                      "rules": [{"from": [{"source": {"namespaces": ["sleep"]}}]}]}})
docs.append({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
             "metadata": {"name": "productpage-viewer", "namespace": "bookinfo"},
             "spec": {"targetRefs": [{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "bookinfo-productpage"}],
                      "action": "ALLOW", "rules": [{"to": [{"operation": {"methods": ["GET"]}}]}]}})
header = """# A cluster matching realdata istio-istio/ztunnel-configdump/head/dump.json (kind: ambient-worker,
# ambient-worker2; bookinfo in `bookinfo` and `default`; 1.20-style waypoints `namespace` and
# `bookinfo-productpage`), derived from that dump by tests/evidence/gen_head_cluster.py, with deliberate differences:
#   default/sleep-7656cf8794-lxcmx has IP 10.244.2.99 (dump: 10.244.2.58)
#   default/details-v1-698d88b-krdw7 runs on ambient-worker (dump: ambient-worker2)
#   default/reviews-v1-5b5d6494f4-c7z5w is gone (dump still has it)
#   default/newcomer-5f7d9c-abcde and Service default/newcomer are new (dump lacks them)
#   Service default/productpage has VIP 10.96.198.254 (dump: 10.96.198.255)
#   Gateway bookinfo/bookinfo-ratings serves account bookinfo-ratings (dump: ratings uses the namespace waypoint)
#   AuthorizationPolicy default/allow-waypoint is gone, default/deny-ratings is new (dump: the reverse)
#   httpbin in `default` is in an ambient namespace, while the dump says protocol TCP (as upstream's fixture has it)
"""
(HERE / "data" / "head-dump-cluster.yaml").write_text(header + yaml.safe_dump_all(docs, sort_keys=False))
