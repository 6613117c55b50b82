"""How ambientctl/demo/data/* was made: the real upstream manifests (realdata) turned into what
`kubectl get -o yaml` shows on a running cluster, plus the Istio install of each era.

The committed YAML is the artefact (tests/demo/test_demo_data.py checks it); this script is kept so the data can
be regenerated and its derivation read. Output is deterministic (names, uids and hashes are derived from
hashes of fixed seeds). Usage: `python tests/demo/generate_demo_data.py [OUT_DIR] [DEMO ...]`.
Needs the realdata tree (AMBIENTCTL_REALDATA, default tests/realdata).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sys
import uuid
from pathlib import Path

import yaml

REAL = Path(os.environ.get("AMBIENTCTL_REALDATA", Path(__file__).resolve().parent.parent / "realdata")) / \
    "istio-istio/samples"
OUT = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "ambientctl/demo/data")
ALPH = "bcdfghjklmnpqrstvwxz2456789"  # k8s rand.SafeEncodeString alphabet


def _digest(seed: str) -> bytes:
    return hashlib.sha256(seed.encode()).digest()


def safe(seed: str, n: int) -> str:
    d = _digest(seed)
    return "".join(ALPH[b % len(ALPH)] for b in d[:n])


def uid(seed: str) -> str:
    return str(uuid.UUID(bytes=_digest("uid:" + seed)[:16], version=4))


def cid(seed: str) -> str:
    return "containerd://" + hashlib.sha256(("c:" + seed).encode()).hexdigest()


def load_real(rel: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((REAL / rel).read_text()) if d]


def real_obj(docs: list[dict], kind: str, name: str) -> dict:
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"] == name:
            return copy.deepcopy(d)
    raise KeyError(f"{kind} {name}")


class Demo:
    def __init__(self, name: str, ts: str, started: str, seed: str | None = None):
        self.name = name
        self.seed = seed or name  # demos of the same cluster share names and uids
        self.ts = ts  # creationTimestamp of objects
        self.started = started  # container start times
        self.files: dict[str, list[tuple[str, dict]]] = {}
        self.headers: dict[str, str] = {}

    def add(self, file: str, obj: dict, comment: str = "") -> dict:
        self.files.setdefault(file, []).append((comment, obj))
        return obj

    def meta(self, name: str, ns: str | None, labels=None, annotations=None, **extra) -> dict:
        m = {"name": name, "uid": uid(f"{self.seed}/{ns}/{name}/{extra.get('_kind', '')}"),
             "creationTimestamp": extra.pop("created", self.ts), "resourceVersion": str(
                 int.from_bytes(_digest(f"rv{self.seed}{ns}{name}")[:3], "big"))}
        extra.pop("_kind", None)
        if ns:
            m["namespace"] = ns
        if labels:
            m["labels"] = dict(labels)
        if annotations:
            m["annotations"] = dict(annotations)
        m.update(extra)
        return m

    def write(self) -> None:
        d = OUT / self.name
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("*.yaml"):
            old.unlink()
        for file, docs in self.files.items():
            parts = [self.headers.get(file, "").rstrip() + "\n"]
            for comment, obj in docs:
                block = ""
                if comment:
                    block += "".join(f"# {line}".rstrip() + "\n" for line in comment.strip().splitlines())
                block += yaml.safe_dump(obj, sort_keys=True, default_flow_style=False, width=120)
                parts.append("---\n" + block)
            (d / file).write_text("".join(parts))


# ---------------------------------------------------------------------------------------------------------
# building blocks


def node(demo: Demo, name: str, ip: str, zone: str, kubelet: str, instance: str = "m5.large",
         extra_labels=None) -> dict:
    labels = {
        "alpha.eksctl.io/cluster-name": "aws-demo-cluster01",
        "alpha.eksctl.io/nodegroup-name": "ng-1",
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": instance,
        "beta.kubernetes.io/os": "linux",
        "failure-domain.beta.kubernetes.io/region": "us-east-1",
        "failure-domain.beta.kubernetes.io/zone": zone,
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": instance,
        "topology.kubernetes.io/region": "us-east-1",
        "topology.kubernetes.io/zone": zone,
    }
    labels.update(extra_labels or {})
    return demo.add("00-cluster.yaml", {
        "apiVersion": "v1", "kind": "Node",
        "metadata": demo.meta(name, None, labels, {"node.alpha.kubernetes.io/ttl": "0",
                                                    "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
                              _kind="Node"),
        "spec": {"providerID": f"aws:///{zone}/i-0{safe('i' + name, 16).replace('z', 'a')}"},
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "InternalDNS", "address": name},
                {"type": "Hostname", "address": name},
            ],
            "allocatable": {"cpu": "1930m", "memory": "7291284Ki", "pods": "29"},
            "capacity": {"cpu": "2", "memory": "7934356Ki", "pods": "29"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
                 "message": "kubelet has sufficient memory available", "lastHeartbeatTime": demo.started,
                 "lastTransitionTime": demo.ts},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure",
                 "message": "kubelet has no disk pressure", "lastHeartbeatTime": demo.started,
                 "lastTransitionTime": demo.ts},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID",
                 "message": "kubelet has sufficient PID available", "lastHeartbeatTime": demo.started,
                 "lastTransitionTime": demo.ts},
                {"type": "Ready", "status": "True", "reason": "KubeletReady",
                 "message": "kubelet is posting ready status", "lastHeartbeatTime": demo.started,
                 "lastTransitionTime": demo.ts},
            ],
            "nodeInfo": {"architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.27",
                         "kernelVersion": "6.1.155-176.282.amzn2023.x86_64" if "1.33" in kubelet else
                         "5.10.209-198.812.amzn2.x86_64" if "1.28" in kubelet else "5.4.209-116.367.amzn2.x86_64",
                         "kubeProxyVersion": kubelet, "kubeletVersion": kubelet, "operatingSystem": "linux",
                         "osImage": "Amazon Linux 2023.9.20251027" if "1.33" in kubelet else "Amazon Linux 2"},
        },
    })


def namespace(demo: Demo, name: str, labels=None, comment: str = "") -> dict:
    lab = {"kubernetes.io/metadata.name": name}
    lab.update(labels or {})
    return demo.add("00-cluster.yaml", {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": demo.meta(name, None, lab, _kind="Namespace"),
        "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"},
    }, comment)


def service_account(demo: Demo, file: str, ns: str, name: str, labels=None, comment: str = "") -> dict:
    return demo.add(file, {"apiVersion": "v1", "kind": "ServiceAccount",
                           "metadata": demo.meta(name, ns, labels, _kind="ServiceAccount")}, comment)


def service(demo: Demo, file: str, ns: str, name: str, ip: str, ports: list[dict], selector: dict | None,
            labels=None, annotations=None, comment: str = "", owner: dict | None = None) -> dict:
    ps = []
    for p in ports:
        q = dict(p)
        q.setdefault("protocol", "TCP")
        q.setdefault("targetPort", q["port"])
        ps.append(q)
    spec = {"clusterIP": ip, "clusterIPs": [ip], "internalTrafficPolicy": "Cluster", "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack", "ports": ps, "sessionAffinity": "None", "type": "ClusterIP"}
    if selector is not None:
        spec["selector"] = dict(selector)
    md = demo.meta(name, ns, labels, annotations, _kind="Service")
    if owner:
        md["ownerReferences"] = [owner]
    return demo.add(file, {"apiVersion": "v1", "kind": "Service", "metadata": md, "spec": spec,
                           "status": {"loadBalancer": {}}}, comment)


def service_from_real(demo: Demo, file: str, real: dict, ns: str, ip: str, extra_labels=None,
                      comment: str = "") -> dict:
    labels = dict(real["metadata"].get("labels") or {})
    labels.update(extra_labels or {})
    return service(demo, file, ns, real["metadata"]["name"], ip, real["spec"]["ports"],
                   real["spec"].get("selector"), labels, comment=comment)


def pod_status(demo: Demo, node_ip: str, ip: str, containers: list[dict], init: list[dict] | None, seed: str,
               start: str | None = None) -> dict:
    start = start or demo.started
    st = {
        "phase": "Running", "hostIP": node_ip, "hostIPs": [{"ip": node_ip}], "podIP": ip, "podIPs": [{"ip": ip}],
        "qosClass": "BestEffort", "startTime": start,
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": start},
            {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": start},
            {"type": "Ready", "status": "True", "lastProbeTime": None, "lastTransitionTime": start},
            {"type": "ContainersReady", "status": "True", "lastProbeTime": None, "lastTransitionTime": start},
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": start},
        ],
        "containerStatuses": [
            {"name": c["name"], "image": c["image"], "containerID": cid(seed + c["name"]), "ready": True,
             "started": True, "restartCount": 0, "state": {"running": {"startedAt": start}}}
            for c in containers
        ],
    }
    if init:
        st["initContainerStatuses"] = [
            {"name": c["name"], "image": c["image"], "containerID": cid(seed + c["name"]), "ready": True,
             "restartCount": 0, "started": False,
             "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": start, "finishedAt": start,
                                      "containerID": cid(seed + c["name"])}}}
            for c in init
        ]
    return st


def pod(demo: Demo, file: str, ns: str, name: str, owner_kind: str, owner_name: str, labels: dict,
        annotations: dict | None, node_name: str, node_ip: str, ip: str | None, spec: dict, comment: str = "",
        start: str | None = None) -> dict:
    spec = copy.deepcopy(spec)
    spec["nodeName"] = node_name
    sa = spec.get("serviceAccountName", "default")
    spec["serviceAccountName"] = sa
    spec["serviceAccount"] = sa
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirstWithHostNet" if spec.get("hostNetwork") else "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    spec.setdefault("securityContext", {})
    spec.setdefault("tolerations", [
        {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
        {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists",
         "tolerationSeconds": 300},
    ])
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        c.setdefault("imagePullPolicy", "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
        for p in c.get("ports", []):
            p.setdefault("protocol", "TCP")
    owner = {"apiVersion": "apps/v1", "kind": owner_kind, "name": owner_name, "controller": True,
             "blockOwnerDeletion": True, "uid": uid(f"{demo.seed}/{ns}/{owner_name}/{owner_kind}")}
    md = demo.meta(name, ns, labels, annotations, _kind="Pod")
    md["generateName"] = name[: len(name) - 5] if owner_kind == "ReplicaSet" else owner_name + "-"
    md["ownerReferences"] = [owner]
    pod_ip = node_ip if spec.get("hostNetwork") else ip
    return demo.add(file, {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec,
                           "status": pod_status(demo, node_ip, pod_ip, spec["containers"],
                                                spec.get("initContainers"), f"{demo.seed}/{ns}/{name}", start)},
                    comment)


def deployment(demo: Demo, file: str, d: dict, ns: str, replicas_ready: int | None = None, comment: str = "",
               extra_template_labels=None, extra_template_annotations=None, labels=None,
               owner: dict | None = None) -> dict:
    d = copy.deepcopy(d)
    md = d["metadata"]
    dep_labels = dict(md.get("labels") or {})
    dep_labels.update(labels or {})
    d["metadata"] = demo.meta(md["name"], ns, dep_labels, {"deployment.kubernetes.io/revision": "1",
                                                           **(md.get("annotations") or {})},
                              _kind="Deployment", generation=1)
    if owner:
        d["metadata"]["ownerReferences"] = [owner]
    spec = d["spec"]
    spec.setdefault("replicas", 1)
    spec.setdefault("progressDeadlineSeconds", 600)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%",
                                                                            "maxUnavailable": "25%"}})
    tmd = spec["template"].setdefault("metadata", {})
    tmd.setdefault("creationTimestamp", None)
    if extra_template_labels:
        tmd.setdefault("labels", {}).update(extra_template_labels)
    if extra_template_annotations:
        tmd.setdefault("annotations", {}).update(extra_template_annotations)
    n = spec["replicas"] if replicas_ready is None else replicas_ready
    d["status"] = {
        "availableReplicas": n, "observedGeneration": 1, "readyReplicas": n, "replicas": spec["replicas"],
        "updatedReplicas": spec["replicas"],
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
             "message": "Deployment has minimum availability.", "lastTransitionTime": demo.started,
             "lastUpdateTime": demo.started},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
             "message": f'ReplicaSet "{md["name"]}-{template_hash(demo, ns, md["name"])}" has successfully progressed.',
             "lastTransitionTime": demo.ts, "lastUpdateTime": demo.started},
        ],
    }
    return demo.add(file, d, comment)


HASH_OVERRIDES: dict[str, str] = {}


def template_hash(demo: Demo, ns: str, deploy: str) -> str:
    """Like the ReplicaSet controller: SafeEncodeString of a decimal FNV hash => only 4-9 and b c d f."""
    key = f"{ns}/{deploy}"
    if key in HASH_OVERRIDES:
        return HASH_OVERRIDES[key]
    digits = str(int.from_bytes(_digest(f"{demo.seed}/hash/{key}")[:5], "big"))[:10].rjust(10, "7")
    return "".join("456789bcdf"[int(c)] for c in digits)


def pods_of_deployment(demo: Demo, file: str, dep: dict, placements: list[tuple[str, str, str]],
                       annotations=None, names: list[str] | None = None, comment: str = "",
                       extra_labels=None, spec_patch=None) -> list[dict]:
    """placements: (node name, node ip, pod ip) per replica."""
    ns = dep["metadata"]["namespace"]
    dname = dep["metadata"]["name"]
    h = template_hash(demo, ns, dname)
    t = dep["spec"]["template"]
    out = []
    for i, (nname, nip, ip) in enumerate(placements):
        pname = names[i] if names else f"{dname}-{h}-{safe(f'{demo.seed}/{ns}/{dname}/{i}', 5)}"
        labels = dict(t["metadata"].get("labels") or {})
        labels["pod-template-hash"] = h
        labels.update(extra_labels or {})
        ann = dict(t["metadata"].get("annotations") or {})
        ann.update(annotations or {})
        spec = copy.deepcopy(t["spec"])
        if spec_patch:
            spec_patch(spec)
        out.append(pod(demo, file, ns, pname, "ReplicaSet", f"{dname}-{h}", labels, ann or None, nname, nip, ip,
                       spec, comment if i == 0 else ""))
    return out


def daemonset(demo: Demo, file: str, ns: str, name: str, sel: dict, tlabels: dict, tann: dict | None,
              spec: dict, nodes: list[tuple[str, str, str | None]], labels=None, pod_names: list[str] | None = None,
              comment: str = "", pod_comment: str = "") -> tuple[dict, list[dict]]:
    rev = safe(f"{demo.seed}/rev/{ns}/{name}", 10)
    ds = {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": demo.meta(name, ns, labels, {"deprecated.daemonset.template.generation": "1"},
                              _kind="DaemonSet", generation=1),
        "spec": {"revisionHistoryLimit": 10, "selector": {"matchLabels": sel},
                 "template": {"metadata": {"creationTimestamp": None, "labels": tlabels,
                                           **({"annotations": tann} if tann else {})},
                              "spec": spec},
                 "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0,
                                                                              "maxUnavailable": 1}}},
        "status": {"currentNumberScheduled": len(nodes), "desiredNumberScheduled": len(nodes),
                   "numberAvailable": len(nodes), "numberMisscheduled": 0, "numberReady": len(nodes),
                   "observedGeneration": 1, "updatedNumberScheduled": len(nodes)},
    }
    demo.add(file, ds, comment)
    pods = []
    for i, (nname, nip, ip) in enumerate(nodes):
        pname = pod_names[i] if pod_names else f"{name}-{safe(f'{demo.seed}/{ns}/{name}/{nname}', 5)}"
        pl = dict(tlabels)
        pl["controller-revision-hash"] = rev
        pl["pod-template-generation"] = "1"
        pspec = copy.deepcopy(spec)
        pspec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [nname]}]}]}}}
        pods.append(pod(demo, file, ns, pname, "DaemonSet", name, pl, dict(tann) if tann else None, nname, nip, ip,
                        pspec, pod_comment if i == 0 else ""))
    return ds, pods


def condition(type_: str, status: str, reason: str, message: str, ts: str, gen: int | None = 1) -> dict:
    c = {"type": type_, "status": status, "reason": reason, "message": message, "lastTransitionTime": ts}
    if gen is not None:
        c["observedGeneration"] = gen
    return c


def sidecar_status(rev: str = "default") -> str:
    return json.dumps({"initContainers": ["istio-init"], "containers": ["istio-proxy"],
                       "volumes": ["workload-socket", "credential-socket", "workload-certs", "istio-envoy",
                                   "istio-data", "istio-podinfo", "istio-token", "istiod-ca-cert"],
                       "imagePullSecrets": None, "revision": rev}, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------------------
# eras

TAG_2022 = "0.0.0-ambient.191fe680b52c1754ee72a06b3e0d3f9d116f2e82"
ERAS = {
    "1.28": dict(pilot="docker.io/istio/pilot:1.28.0", ztunnel="docker.io/istio/ztunnel:1.28.0",
                 cni="docker.io/istio/install-cni:1.28.0", proxy="docker.io/istio/proxyv2:1.28.0",
                 bookinfo="head/bookinfo/platform/kube/bookinfo.yaml", sec="security.istio.io/v1",
                 net="networking.istio.io/v1", gw="gateway.networking.k8s.io/v1", kubelet="v1.33.5-eks-113cf36"),
    "1.31": dict(pilot="docker.io/istio/pilot:1.31.1", ztunnel="docker.io/istio/ztunnel:1.31.1",
                 cni="docker.io/istio/install-cni:1.31.1", proxy="docker.io/istio/proxyv2:1.31.1",
                 bookinfo="head/bookinfo/platform/kube/bookinfo.yaml", sec="security.istio.io/v1",
                 net="networking.istio.io/v1", gw="gateway.networking.k8s.io/v1", kubelet="v1.34.1-eks-ae9a62a"),
    "1.20": dict(pilot="docker.io/istio/pilot:1.20.3", ztunnel="docker.io/istio/ztunnel:1.20.3",
                 cni="docker.io/istio/install-cni:1.20.3", proxy="docker.io/istio/proxyv2:1.20.3",
                 bookinfo="istio-1.18.0/bookinfo/platform/kube/bookinfo.yaml", sec="security.istio.io/v1beta1",
                 net="networking.istio.io/v1beta1", gw="gateway.networking.k8s.io/v1beta1",
                 kubelet="v1.28.5-eks-5e0fdde"),
    "2022": dict(pilot=f"gcr.io/istio-testing/pilot:{TAG_2022}", ztunnel=f"gcr.io/istio-testing/proxyv2:{TAG_2022}",
                 cni=f"gcr.io/istio-testing/install-cni:{TAG_2022}", proxy=f"gcr.io/istio-testing/proxyv2:{TAG_2022}",
                 bookinfo="istio-1.18.0/bookinfo/platform/kube/bookinfo.yaml", sec="security.istio.io/v1beta1",
                 net="networking.istio.io/v1beta1", gw="gateway.networking.k8s.io/v1alpha2",
                 kubelet="v1.23.9-eks-ba74326"),
}

N1, N1IP = "ip-192-168-40-12.ec2.internal", "192.168.40.12"
N2, N2IP = "ip-192-168-21-30.ec2.internal", "192.168.21.30"
NODES = {N1: N1IP, N2: N2IP}


def at(node_name: str, ip: str | None) -> tuple[str, str, str | None]:
    return node_name, NODES[node_name], ip


def cluster_base(demo: Demo, era: str, default_ambient: bool = True, default_labels=None) -> None:
    e = ERAS[era]
    demo.headers["00-cluster.yaml"] = f"""# Demo cluster `{demo.name}`: nodes and namespaces.
# Derived from: the seed walkthrough 001_e807b8d8164aa239.txt (eksctl cluster
# aws-demo-cluster01, us-east-1, 2 x m5.large workers, pod IPs from the VPC CNI in 192.168.0.0/16, Service IPs
# in 10.100.0.0/16). Node names/IPs are EKS-style (ip-<a-b-c-d>.ec2.internal) and chosen so the seed's real pod
# IPs (sleep 192.168.58.148, productpage 192.168.13.108) fall in each node's /19 subnet."""
    node(demo, N1, N1IP, "us-east-1b", e["kubelet"])
    node(demo, N2, N2IP, "us-east-1a", e["kubelet"])
    labels = {"istio.io/dataplane-mode": "ambient"} if default_ambient else {}
    labels.update(default_labels or {})
    namespace(demo, "default", labels,
              "Seed step 9: `kubectl label namespace default istio.io/dataplane-mode=ambient`")
    namespace(demo, "istio-system")
    namespace(demo, "kube-system")
    namespace(demo, "kube-public")
    namespace(demo, "kube-node-lease")
    service(demo, "00-cluster.yaml", "default", "kubernetes", "10.100.0.1",
            [{"name": "https", "port": 443, "targetPort": 443}], None,
            {"component": "apiserver", "provider": "kubernetes"},
            comment="The API server Service: no selector (EKS manages its endpoints).")


def kube_system(demo: Demo, era: str, ips: dict) -> None:
    f = "10-kube-system.yaml"
    demo.headers[f] = f"""# Demo cluster `{demo.name}`: EKS system pods (coredns, and the hostNetwork DaemonSets aws-node and
# kube-proxy that every EKS node runs). Shapes follow EKS defaults; they are not part of the seed."""
    ver = {"1.28": ("v1.12.4-eksbuild.1", "v1.33.5-eksbuild.2", "v1.20.4-eksbuild.1"),
           "1.31": ("v1.12.4-eksbuild.1", "v1.34.1-eksbuild.2", "v1.20.4-eksbuild.1"),
           "1.20": ("v1.10.1-eksbuild.7", "v1.28.4-eksbuild.4", "v1.16.0-eksbuild.1"),
           "2022": ("v1.8.7-eksbuild.2", "v1.23.7-eksbuild.1", "v1.11.3-eksbuild.1")}[era]
    reg = "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks"
    service_account(demo, f, "kube-system", "coredns")
    dep = deployment(demo, f, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "coredns", "labels": {"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"eks.amazonaws.com/component": "coredns",
                                                             "k8s-app": "kube-dns"}},
                 "template": {"metadata": {"labels": {"eks.amazonaws.com/component": "coredns",
                                                      "k8s-app": "kube-dns"}},
                              "spec": {"serviceAccountName": "coredns", "priorityClassName": "system-cluster-critical",
                                       "containers": [{"name": "coredns", "image": f"{reg}/coredns:{ver[0]}",
                                                       "args": ["-conf", "/etc/coredns/Corefile"],
                                                       "ports": [{"containerPort": 53, "name": "dns",
                                                                  "protocol": "UDP"},
                                                                 {"containerPort": 53, "name": "dns-tcp"},
                                                                 {"containerPort": 9153, "name": "metrics"}]}]}}},
    }, "kube-system")
    pods_of_deployment(demo, f, dep, [at(N1, ips["coredns1"]), at(N2, ips["coredns2"])])
    service(demo, f, "kube-system", "kube-dns", "10.100.0.10",
            [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
             {"name": "dns-tcp", "port": 53, "targetPort": 53}, {"name": "metrics", "port": 9153}],
            {"k8s-app": "kube-dns"}, {"eks.amazonaws.com/component": "kube-dns", "k8s-app": "kube-dns",
                                      "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"})
    service_account(demo, f, "kube-system", "aws-node")
    daemonset(demo, f, "kube-system", "aws-node", {"k8s-app": "aws-node"},
              {"app.kubernetes.io/instance": "aws-vpc-cni", "app.kubernetes.io/name": "aws-node",
               "k8s-app": "aws-node"}, None,
              {"serviceAccountName": "aws-node", "hostNetwork": True, "priorityClassName": "system-node-critical",
               "containers": [{"name": "aws-node", "image": f"{reg}/amazon-k8s-cni:{ver[2]}",
                               "ports": [{"containerPort": 61678, "name": "metrics"}]}]},
              [at(N1, None), at(N2, None)], labels={"k8s-app": "aws-node"},
              comment="The Amazon VPC CNI: assigns pod IPs from the VPC (hence 192.168.x.x pod IPs).")
    service_account(demo, f, "kube-system", "kube-proxy")
    daemonset(demo, f, "kube-system", "kube-proxy", {"k8s-app": "kube-proxy"}, {"k8s-app": "kube-proxy"}, None,
              {"serviceAccountName": "kube-proxy", "hostNetwork": True, "priorityClassName": "system-node-critical",
               "containers": [{"name": "kube-proxy", "image": f"{reg}/kube-proxy:{ver[1]}",
                               "command": ["kube-proxy", "--v=2", "--config=/var/lib/kube-proxy-config/config",
                                           "--hostname-override=$(NODE_NAME)"]}]},
              [at(N1, None), at(N2, None)], labels={"eks.amazonaws.com/component": "kube-proxy",
                                                    "k8s-app": "kube-proxy"})


def bookinfo_apps(demo: Demo, era: str, place: dict, ips: dict, svc_ips: dict, names: dict,
                  svc_labels: dict | None = None, svc_comments: dict | None = None, pod_labels=None,
                  pod_annotations=None, file: str = "30-bookinfo.yaml") -> dict:
    """Services, ServiceAccounts, Deployments and Pods of Bookinfo, from the real bookinfo.yaml."""
    e = ERAS[era]
    real = load_real(e["bookinfo"])
    demo.headers[file] = f"""# Demo cluster `{demo.name}`: the Bookinfo application as a running cluster shows it.
# Derived from the real manifest istio/istio samples/bookinfo/platform/kube/bookinfo.yaml
# (copy: tests/realdata/istio-istio/samples/{e['bookinfo']}): Services, ServiceAccounts and
# Deployments are that file's objects (plus namespace, uid, clusterIP and status); each Deployment's Pod is its
# pod template with pod-template-hash, nodeName, podIP and Ready status added. ReplicaSets are omitted.
# Seed: 001_e807b8d8164aa239.txt step 5 (`kubectl apply -f samples/bookinfo/...`)."""
    svc_labels = svc_labels or {}
    svc_comments = svc_comments or {}
    out = {}
    for svc in ("details", "ratings", "reviews", "productpage"):
        service_from_real(demo, file, real_obj(real, "Service", svc), "default", svc_ips[svc],
                          svc_labels.get(svc), comment=svc_comments.get(svc, ""))
        service_account(demo, file, "default", f"bookinfo-{svc}", {"account": svc})
        deps = [d for d in real if d["kind"] == "Deployment" and d["metadata"]["labels"]["app"] == svc]
        for d in deps:
            name = d["metadata"]["name"]
            dep = deployment(demo, file, d, "default")
            pn = names.get(name)
            out[name] = pods_of_deployment(demo, file, dep, [at(place[name], ips[name])],
                                           annotations=pod_annotations, names=[pn] if pn else None,
                                           extra_labels=pod_labels)[0]
    return out


def sleep_apps(demo: Demo, place: dict, ips: dict, svc_ips: dict, names: dict, ns: str = "default",
               which=("sleep", "notsleep"), pod_labels=None, pod_annotations=None, file: str = "31-sleep.yaml",
               header: str | None = None) -> dict:
    demo.headers.setdefault(file, header or f"""# Demo cluster `{demo.name}`: the seed's two clients, sleep and notsleep.
# Derived from the real manifests istio/istio samples/sleep/sleep.yaml and samples/sleep/notsleep.yaml at 1.22.0
# (copies: tests/realdata/istio-istio/samples/istio-1.22.0/sleep/). The seed applied the same manifests
# from github.com/linsun/sample-apps (not stored); the objects are identical in shape (SA + Service + Deployment).
# Seed: 001_e807b8d8164aa239.txt step 5.""")
    out = {}
    for app in which:
        real = load_real(f"istio-1.22.0/sleep/{app}.yaml")
        service_account(demo, file, ns, app)
        service_from_real(demo, file, real_obj(real, "Service", app), ns, svc_ips[f"{ns}/{app}"])
        dep = deployment(demo, file, real_obj(real, "Deployment", app), ns)
        pn = names.get(f"{ns}/{app}")
        out[f"{ns}/{app}"] = pods_of_deployment(demo, file, dep, [at(place[f"{ns}/{app}"], ips[f"{ns}/{app}"])],
                                                annotations=pod_annotations, names=[pn] if pn else None,
                                                extra_labels=pod_labels)[0]
    return out


def mesh_config(extra: str = "") -> str:
    return ("defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n  proxyMetadata:\n"
            "    ISTIO_META_ENABLE_HBONE: \"true\"\ndefaultProviders:\n  metrics:\n  - prometheus\n"
            "enablePrometheusMerge: true\nrootNamespace: istio-system\ntrustDomain: cluster.local\n" + extra)


def istiod(demo: Demo, f: str, era: str, node_name: str, ip: str, svc_ip: str, pod_name: str | None,
           env: list[dict], hash_override: str | None = None) -> None:
    e = ERAS[era]
    if hash_override:
        HASH_OVERRIDES["istio-system/istiod"] = hash_override
    service_account(demo, f, "istio-system", "istiod", {"app": "istiod", "release": "istio"})
    tl = {"app": "istiod", "istio": "pilot", "istio.io/rev": "default", "install.operator.istio.io/owning-resource":
          "unknown", "operator.istio.io/component": "Pilot", "sidecar.istio.io/inject": "false"}
    if era == "1.28":
        tl = {"app": "istiod", "app.kubernetes.io/instance": "istio", "app.kubernetes.io/managed-by": "Helm",
              "app.kubernetes.io/name": "istiod", "app.kubernetes.io/part-of": "istio",
              "app.kubernetes.io/version": "1.28.0", "helm.sh/chart": "istiod-1.28.0", "istio": "pilot",
              "istio.io/dataplane-mode": "none", "istio.io/rev": "default",
              "install.operator.istio.io/owning-resource": "unknown", "operator.istio.io/component": "Pilot",
              "sidecar.istio.io/inject": "false"}
    dep = deployment(demo, f, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "istiod", "labels": {"app": "istiod", "istio": "pilot", "istio.io/rev": "default",
                                                  "operator.istio.io/component": "Pilot", "release": "istio"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"istio": "pilot"}},
                 "template": {"metadata": {"labels": tl,
                                           "annotations": {"prometheus.io/port": "15014",
                                                           "prometheus.io/scrape": "true",
                                                           "sidecar.istio.io/inject": "false"}},
                              "spec": {"serviceAccountName": "istiod",
                                       "containers": [{"name": "discovery", "image": e["pilot"],
                                                       "args": ["discovery", "--monitoringAddr=:15014",
                                                                "--log_output_level=default:info",
                                                                "--domain", "cluster.local",
                                                                "--keepaliveMaxServerConnectionAge", "30m"],
                                                       "env": env,
                                                       "ports": [{"containerPort": 8080, "name": "http-debug"},
                                                                 {"containerPort": 15010, "name": "grpc-xds"},
                                                                 {"containerPort": 15012, "name": "tls-xds"},
                                                                 {"containerPort": 15017, "name": "https-webhooks"},
                                                                 {"containerPort": 15014,
                                                                  "name": "http-monitoring"}],
                                                       "readinessProbe": {"httpGet": {"path": "/ready",
                                                                                      "port": 8080}}}]}}},
    }, "istio-system")
    pods_of_deployment(demo, f, dep, [at(node_name, ip)], names=[pod_name] if pod_name else None)
    service(demo, f, "istio-system", "istiod", svc_ip,
            [{"name": "grpc-xds", "port": 15010}, {"name": "https-dns", "port": 15012},
             {"name": "https-webhook", "port": 443, "targetPort": 15017}, {"name": "http-monitoring", "port": 15014}],
            {"app": "istiod", "istio": "pilot"}, {"app": "istiod", "istio": "pilot", "istio.io/rev": "default",
                                                  "operator.istio.io/component": "Pilot", "release": "istio"})


def istio_cni(demo: Demo, f: str, era: str, names: list[str] | None = None) -> None:
    e = ERAS[era]
    service_account(demo, f, "istio-system", "istio-cni", {"app": "istio-cni"})
    tl = {"k8s-app": "istio-cni-node", "sidecar.istio.io/inject": "false"}
    if era != "2022":
        tl["istio.io/dataplane-mode"] = "none"
    daemonset(demo, f, "istio-system", "istio-cni-node", {"k8s-app": "istio-cni-node"}, tl,
              {"sidecar.istio.io/inject": "false", "prometheus.io/port": "15014", "prometheus.io/scrape": "true"},
              {"serviceAccountName": "istio-cni", "hostNetwork": True, "priorityClassName": "system-node-critical",
               "containers": [{"name": "install-cni", "image": e["cni"], "command": ["install-cni"],
                               "env": [{"name": "AMBIENT_ENABLED", "value": "true"}] if era != "2022" else [],
                               "ports": [{"containerPort": 15014, "name": "metrics"}]}]},
              [at(N1, None), at(N2, None)], labels={"k8s-app": "istio-cni-node", "operator.istio.io/component":
                                                    "Cni"},
              pod_names=names,
              comment="istio-cni: sets up each captured pod's redirection to its node's ztunnel. hostNetwork.")


def gateway_classes(demo: Demo, f: str, era: str, names: list[tuple[str, str, str]]) -> None:
    e = ERAS[era]
    for name, controller, desc in names:
        demo.add(f, {"apiVersion": e["gw"], "kind": "GatewayClass",
                     "metadata": demo.meta(name, None, None, _kind="GatewayClass", generation=1),
                     "spec": {"controllerName": controller, "description": desc},
                     "status": {"conditions": [condition("Accepted", "True", "Accepted", "Handled by Istio controller",
                                                         demo.ts)]}})


# ---------------------------------------------------------------------------------------------------------
# current Istio (1.28): bookinfo and bookinfo-l4

REDIRECT = {"ambient.istio.io/redirection": "enabled"}
CUR_IPS = {
    "sleep": "192.168.58.148", "notsleep": "192.168.47.210", "details-v1": "192.168.35.77",
    "reviews-v1": "192.168.52.19", "reviews-v3": "192.168.61.4", "istiod": "192.168.44.161",
    "ztunnel1": "192.168.39.25", "coredns1": "192.168.33.140", "httpbin": "192.168.50.233",
    "legacy-sleep": "192.168.42.96",
    "productpage-v1": "192.168.13.108", "reviews-v2": "192.168.7.203", "ratings-v1": "192.168.26.57",
    "waypoint": "192.168.17.42", "ztunnel2": "192.168.3.181", "coredns2": "192.168.28.9",
}
CUR_SVC = {"productpage": "10.100.171.143", "details": "10.100.45.30", "ratings": "10.100.133.91",
           "reviews": "10.100.208.5", "default/sleep": "10.100.97.112", "default/notsleep": "10.100.19.246",
           "waypoint": "10.100.88.164", "httpbin": "10.100.240.17", "legacy/sleep": "10.100.150.38",
           "node-exporter": "10.100.77.4", "istiod": "10.100.62.221"}
CUR_PLACE = {"details-v1": N1, "reviews-v1": N1, "reviews-v3": N1, "productpage-v1": N2, "reviews-v2": N2,
             "ratings-v1": N2, "default/sleep": N1, "default/notsleep": N1, "legacy/sleep": N1}
SEED_NAMES = {"productpage-v1": "productpage-v1-5586c4d4ff-z8jbb", "reviews-v1": "reviews-v1-7598cc9867-dh7hp",
              "reviews-v2": "reviews-v2-6bdd859457-7lxhc", "default/sleep": "sleep-55697f8897-n2ldz"}
SEED_HASHES = {"default/productpage-v1": "5586c4d4ff", "default/reviews-v1": "7598cc9867",
               "default/reviews-v2": "6bdd859457", "default/sleep": "55697f8897"}


def istio_current(demo: Demo, era: str = "1.28", extra_gateway_classes=(), istiod_env=()) -> None:
    e = ERAS[era]
    v = e["pilot"].rsplit(":", 1)[1]
    f = "20-istio-system.yaml"
    demo.headers[f] = f"""# Demo cluster `{demo.name}`: Istio {v} installed with the ambient profile (istiod, istio-cni, ztunnel).
# Shapes follow the real Helm charts at istio/istio tag {v} (manifests/charts/istio-control/istio-discovery,
# manifests/charts/istio-cni, manifests/charts/ztunnel; profile manifests/helm-profiles/ambient.yaml sets
# PILOT_ENABLE_AMBIENT=true and proxyMetadata ISTIO_META_ENABLE_HBONE). Pod names are the seed's
# (001_e807b8d8164aa239.txt step 6: istiod-6c99d96db7-4ckbm, istio-cni-node-gfmqp/t2flv,
# ztunnel-fnjg2 on sleep's node, ztunnel-k4jhb on productpage's node). The seed's istio-ingressgateway is not
# installed: the current ambient profile has no ingress gateway."""
    env = [{"name": "REVISION", "value": "default"}, {"name": "PILOT_CERT_PROVIDER", "value": "istiod"},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
           {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                "fieldPath": "metadata.namespace"}}},
           {"name": "SERVICE_ACCOUNT", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                  "fieldPath": "spec.serviceAccountName"}}},
           {"name": "KUBECONFIG", "value": "/var/run/secrets/remote/config"},
           {"name": "CA_TRUSTED_NODE_ACCOUNTS", "value": "istio-system/ztunnel,kube-system/ztunnel"},
           {"name": "PILOT_TRACE_SAMPLING", "value": "1"},
           {"name": "PILOT_ENABLE_ANALYSIS", "value": "false"}, {"name": "CLUSTER_ID", "value": "Kubernetes"},
           {"name": "GOMEMLIMIT", "valueFrom": {"resourceFieldRef": {"divisor": "1", "resource": "limits.memory"}}},
           {"name": "GOMAXPROCS", "valueFrom": {"resourceFieldRef": {"divisor": "1", "resource": "limits.cpu"}}},
           {"name": "PLATFORM", "value": ""}, {"name": "PILOT_ENABLE_AMBIENT", "value": "true"}, *istiod_env]
    istiod(demo, f, era, N1, CUR_IPS["istiod"], CUR_SVC["istiod"], "istiod-6c99d96db7-4ckbm", env,
           hash_override="6c99d96db7")
    demo.add(f, {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": demo.meta("istio", "istio-system", {
                     "app.kubernetes.io/instance": "istiod", "app.kubernetes.io/managed-by": "Helm",
                     "app.kubernetes.io/name": "istiod", "app.kubernetes.io/part-of": "istio",
                     "app.kubernetes.io/version": v, "helm.sh/chart": f"istiod-{v}",
                     "install.operator.istio.io/owning-resource": "unknown", "istio.io/rev": "default",
                     "operator.istio.io/component": "Pilot", "release": "istiod"}, _kind="ConfigMap"),
                 "data": {"mesh": mesh_config(
                     "serviceScopeConfigs:\n- scope: GLOBAL\n  servicesSelector:\n    matchExpressions:\n"
                     "    - key: istio.io/global\n      operator: In\n      values:\n      - \"true\"\n"),
                          "meshNetworks": "networks: {}"}},
            "Mesh config: the root namespace and trust domain ambientctl reads (defaults made explicit).")
    istio_cni(demo, f, era, ["istio-cni-node-gfmqp", "istio-cni-node-t2flv"])
    service_account(demo, f, "istio-system", "ztunnel", {"app.kubernetes.io/name": "ztunnel"})
    daemonset(demo, f, "istio-system", "ztunnel", {"app": "ztunnel"},
              {"sidecar.istio.io/inject": "false", "istio.io/dataplane-mode": "none", "app": "ztunnel",
               "app.kubernetes.io/name": "ztunnel", "app.kubernetes.io/part-of": "istio",
               "app.kubernetes.io/version": v, "helm.sh/chart": f"ztunnel-{v}"},
              {"sidecar.istio.io/inject": "false", "prometheus.io/port": "15020", "prometheus.io/scrape": "true"},
              {"serviceAccountName": "ztunnel", "priorityClassName": "system-node-critical",
               "containers": [{"name": "istio-proxy", "image": e["ztunnel"], "args": ["proxy", "ztunnel"],
                               "env": [{"name": "CA_ADDRESS", "value": "istiod.istio-system.svc:15012"},
                                       {"name": "XDS_ADDRESS", "value": "istiod.istio-system.svc:15012"},
                                       {"name": "RUST_LOG", "value": "info"},
                                       {"name": "ISTIO_META_CLUSTER_ID", "value": "Kubernetes"},
                                       {"name": "INPOD_ENABLED", "value": "true"},
                                       {"name": "TERMINATION_GRACE_PERIOD_SECONDS", "value": "30"},
                                       {"name": "ISTIO_META_ENABLE_HBONE", "value": "true"}],
                               "ports": [{"containerPort": 15020, "name": "ztunnel-stats"}],
                               "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}}}]},
              [at(N1, CUR_IPS["ztunnel1"]), at(N2, CUR_IPS["ztunnel2"])],
              labels={"app.kubernetes.io/name": "ztunnel", "app.kubernetes.io/part-of": "istio",
                      "app.kubernetes.io/version": v, "helm.sh/chart": f"ztunnel-{v}"},
              pod_names=["ztunnel-fnjg2", "ztunnel-k4jhb"],
              comment="ztunnel: one per node; ztunnel-fnjg2 serves node ip-192-168-40-12 (sleep's), ztunnel-k4jhb\n"
                      "serves ip-192-168-21-30 (productpage's), as in the seed.")
    gateway_classes(demo, f, era, [
        ("istio", "istio.io/gateway-controller", "The default Istio GatewayClass"),
        ("istio-remote", "istio.io/unmanaged-gateway", "Remote to this cluster. Does not deploy or affect configuration."),
        ("istio-waypoint", "istio.io/mesh-controller", "The default Istio waypoint GatewayClass"),
        *extra_gateway_classes,
    ])


def waypoint_current(demo: Demo, node_name: str, era: str = "1.28", name: str = "waypoint", ns: str = "default",
                     ip: str | None = None, svc_ip: str | None = None, allowed_from: str = "Same",
                     f: str = "40-waypoint.yaml", gw_comment: str = "") -> None:
    e = ERAS[era]
    ip, svc_ip = ip or CUR_IPS["waypoint"], svc_ip or CUR_SVC["waypoint"]
    demo.headers.setdefault(f, f"""# Demo cluster `{demo.name}`: the waypoint (seed step 10, "enable L7", written for current Istio).
# The seed created one istio-mesh Gateway per service account; since 1.22 a waypoint is a Gateway of class
# istio-waypoint that Services opt into with the label istio.io/use-waypoint (research/istio.md §5.1-5.3).
# This is what `istioctl waypoint apply -n default` creates. Shapes from real upstream data:
# Gateway spec + generated Deployment/Service/ServiceAccount labels from
# tests/realdata/istio-istio/waypoint/gateway-controller/waypoint.yaml and
# waypoint/generated-deployment/waypoint-deployment.yaml (istiod's rendering); Programmed condition text and
# the clusterIP address from istio-io-docs/getting-started-command-outputs.txt blocks [D] and [E].""")
    gw_owner = {"apiVersion": e["gw"], "kind": "Gateway", "name": name,
                "uid": uid(f"{demo.seed}/{ns}/{name}/Gateway")}
    ts = demo.started
    demo.add(f, {
        "apiVersion": e["gw"], "kind": "Gateway",
        "metadata": demo.meta(name, ns, {"istio.io/waypoint-for": "service"},
                              {"gateway.istio.io/controller-version": "5"}, _kind="Gateway", generation=1),
        "spec": {"gatewayClassName": "istio-waypoint",
                 "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE",
                                "allowedRoutes": {"namespaces": {"from": allowed_from}}}]},
        "status": {
            "addresses": [{"type": "IPAddress", "value": svc_ip}],
            "conditions": [
                condition("Accepted", "True", "Accepted", "Resource accepted", ts),
                condition("Programmed", "True", "Programmed",
                          f"Resource programmed, assigned to service(s) {name}.{ns}.svc.cluster.local:15008", ts),
            ],
            "listeners": [{"name": "mesh", "attachedRoutes": 0, "supportedKinds": [],
                           "conditions": [condition("Accepted", "True", "Accepted", "No errors found", ts),
                                          condition("Conflicted", "False", "NoConflicts", "No errors found", ts),
                                          condition("Programmed", "True", "Programmed", "No errors found", ts),
                                          condition("ResolvedRefs", "True", "ResolvedRefs", "No errors found",
                                                    ts)]}],
        },
    }, gw_comment or f"Gateway `{name}`: ready (status.addresses holds the waypoint Service's clusterIP, "
                     "Programmed=True).")
    managed = {"gateway.istio.io/managed": "istio.io-mesh-controller",
               "gateway.networking.k8s.io/gateway-class-name": "istio-waypoint",
               "gateway.networking.k8s.io/gateway-name": name}
    demo.add(f, {"apiVersion": "v1", "kind": "ServiceAccount",
                 "metadata": {**demo.meta(name, ns, managed, _kind="ServiceAccount"),
                              "ownerReferences": [gw_owner]}})
    tl = {**managed, "istio.io/dataplane-mode": "none", "service.istio.io/canonical-name": name,
          "service.istio.io/canonical-revision": "latest", "sidecar.istio.io/inject": "false"}
    dep = deployment(demo, f, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": dict(managed)},
        "spec": {"selector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": name}},
                 "template": {"metadata": {"labels": tl, "annotations": {
                     "istio.io/rev": "default", "prometheus.io/path": "/stats/prometheus",
                     "prometheus.io/port": "15020", "prometheus.io/scrape": "true"}},
                     "spec": {"serviceAccountName": name, "terminationGracePeriodSeconds": 2,
                              "containers": [{
                                  "name": "istio-proxy", "image": e["proxy"],
                                  "args": ["proxy", "waypoint", "--domain", "$(POD_NAMESPACE).svc.cluster.local",
                                           "--serviceCluster", f"{name}.$(POD_NAMESPACE)", "--proxyLogLevel",
                                           "warning", "--proxyComponentLogLevel", "misc:error",
                                           "--log_output_level", "default:info"],
                                  "env": [{"name": "PILOT_CERT_PROVIDER", "value": "istiod"},
                                          {"name": "CA_ADDR", "value": "istiod.istio-system.svc:15012"},
                                          {"name": "ISTIO_META_CLUSTER_ID", "value": "Kubernetes"},
                                          {"name": "ISTIO_META_INTERCEPTION_MODE", "value": "REDIRECT"},
                                          {"name": "ISTIO_META_WORKLOAD_NAME", "value": name},
                                          {"name": "ISTIO_META_OWNER", "value":
                                           f"kubernetes://apis/apps/v1/namespaces/{ns}/deployments/{name}"},
                                          {"name": "ISTIO_META_MESH_ID", "value": "cluster.local"},
                                          {"name": "TRUST_DOMAIN", "value": "cluster.local"}],
                                  "ports": [{"containerPort": 15020, "name": "metrics"},
                                            {"containerPort": 15021, "name": "status-port"},
                                            {"containerPort": 15090, "name": "http-envoy-prom"}],
                                  "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}}}]}}},
    }, ns, owner=gw_owner)
    pods_of_deployment(demo, f, dep, [at(node_name, ip)],
                       comment="The waypoint pod: never captured (istio.io/dataplane-mode: none); it speaks HBONE "
                               f"itself.\nIts identity is spiffe://cluster.local/ns/{ns}/sa/{name}.")
    service(demo, f, ns, name, svc_ip,
            [{"appProtocol": "tcp", "name": "status-port", "port": 15021},
             {"appProtocol": "all", "name": "mesh", "port": 15008}],
            {"gateway.networking.k8s.io/gateway-name": name}, managed,
            {"networking.istio.io/traffic-distribution": "PreferClose"}, owner=gw_owner)


def seed_reviews_routing(demo: Demo, f: str, era: str) -> None:
    """The seed's reviews 90/10 VirtualService + DestinationRule (= upstream samples/bookinfo/networking files)."""
    e = ERAS[era]
    vs = load_real("head/bookinfo/networking/virtual-service-reviews-90-10.yaml")[0]
    dr = load_real("head/bookinfo/networking/destination-rule-reviews.yaml")[0]
    for obj, what in ((vs, "virtual-service-reviews-90-10.yaml"), (dr, "destination-rule-reviews.yaml")):
        obj = copy.deepcopy(obj)
        obj["apiVersion"] = e["net"]
        obj["metadata"] = demo.meta(obj["metadata"]["name"], "default", _kind=obj["kind"], generation=1)
        demo.add(f, obj, f"Seed step 10.3 (traffic control): spec exactly as the seed applied it, which equals the real\n"
                         f"samples/bookinfo/networking/{what} (copy under tests/realdata/istio-istio/samples/head/).\n"
                         f"The seed applied networking.istio.io/v1alpha3; kubectl shows the served version {e['net']}.")


def seed_fault_delay(demo: Demo, f: str, era: str) -> None:
    e = ERAS[era]
    demo.add(f, {
        "apiVersion": e["net"], "kind": "VirtualService",
        "metadata": demo.meta("productpage", "default", _kind="VirtualService", generation=1),
        "spec": {"hosts": ["productpage"],
                 "http": [{"route": [{"destination": {"host": "productpage"}}],
                           "fault": {"delay": {"percentage": {"value": 100.0}, "fixedDelay": "5s"}}}]},
    }, "Seed step 10.4 (fault injection): a 5 s delay on every request to productpage, exactly as the seed wrote it\n"
       "(applied as networking.istio.io/v1alpha3). `time curl` from sleep showed real 0m 5.04s.")


def _build_current_base(name: str, with_l7: bool) -> Demo:
    HASH_OVERRIDES.clear()
    HASH_OVERRIDES.update(SEED_HASHES)
    demo = Demo(name, "2025-11-12T09:14:03Z", "2025-11-12T09:21:47Z", seed="eks-1.28")
    cluster_base(demo, "1.28")
    kube_system(demo, "1.28", CUR_IPS)
    istio_current(demo)
    svc_labels, svc_comments = {}, {}
    if with_l7:
        svc_labels = {"productpage": {"istio.io/use-waypoint": "waypoint"},
                      "reviews": {"istio.io/use-waypoint": "waypoint"},
                      "details": {"istio.io/use-waypoint": "details-waypoint"}}
        svc_comments = {
            "productpage": "L7 for productpage (seed step 10): label istio.io/use-waypoint=waypoint binds the Service\n"
                           "to Gateway default/waypoint (research/istio.md §5.2).",
            "reviews": "L7 for reviews (seed step 10.3): bound to the same waypoint so the 90/10 VirtualService applies.",
            "details": "DELIBERATE MISCONFIGURATION (a): istio.io/use-waypoint names `details-waypoint`, but no such\n"
                       "Gateway exists. istiod marks the Service WaypointBound=False (WaypointIsNotReady) and ztunnel\n"
                       "sends traffic straight to the pods: fail-open, any L7 policy/route for details is silently\n"
                       "not applied (research/istio.md §5.2 \"Fail-open vs fail-closed\").",
        }
    bookinfo_apps(demo, "1.28", CUR_PLACE, CUR_IPS, CUR_SVC, SEED_NAMES, svc_labels, svc_comments,
                  pod_annotations=REDIRECT)
    sleep_apps(demo, CUR_PLACE, {"default/sleep": CUR_IPS["sleep"], "default/notsleep": CUR_IPS["notsleep"]},
               CUR_SVC, SEED_NAMES, pod_annotations=REDIRECT)
    f = "50-policies.yaml"
    demo.headers[f] = f"""# Demo cluster `{demo.name}`: the seed's policies and routing rules.
# Seed: 001_e807b8d8164aa239.txt steps 9.2 (L4 policy), 10.1 (L7 policy), 10.3 (reviews 90/10),
# 10.4 (5 s delay on productpage)."""
    e = ERAS["1.28"]
    if with_l7:
        demo.add(f, {
            "apiVersion": e["sec"], "kind": "AuthorizationPolicy",
            "metadata": demo.meta("productpage-viewer", "default", _kind="AuthorizationPolicy", generation=2),
            "spec": {"targetRefs": [{"kind": "Service", "group": "", "name": "productpage"}], "action": "ALLOW",
                     "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/default/sa/sleep"]}}],
                                "to": [{"operation": {"methods": ["GET"]}}]}]},
            "status": {"conditions": [condition("WaypointAccepted", "True", "Accepted", "bound to default/waypoint",
                                                demo.started, None)], "observedGeneration": "2"},
        }, "Seed step 10.1 (L7 policy) in current form: only sa sleep, only GET. The seed used `selector:\n"
           "app=productpage`, which a 1.22+ waypoint never applies (\"waypoints never use selector\",\n"
           "research/istio.md §4.4); targetRefs to the Service makes the waypoint enforce it. Not sent to ztunnel (§4.2).")
        seed_reviews_routing(demo, f, "1.28")
        seed_fault_delay(demo, f, "1.28")
    else:
        demo.add(f, {
            "apiVersion": e["sec"], "kind": "AuthorizationPolicy",
            "metadata": demo.meta("productpage-viewer", "default", _kind="AuthorizationPolicy", generation=1),
            "spec": {"selector": {"matchLabels": {"app": "productpage"}}, "action": "ALLOW",
                     "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/default/sa/sleep"]}}]}]},
            "status": {"conditions": [condition("ZtunnelAccepted", "True", "Accepted", "attached to ztunnel",
                                                demo.started, None)], "observedGeneration": "1"},
        }, "Seed step 9.2 (L4 policy), exactly as the seed wrote it (applied as security.istio.io/v1beta1): a selector\n"
           "policy, so the destination ztunnel enforces it (research/istio.md §4.2-4.4). L4 only: it can check the\n"
           "caller's identity, not the HTTP method.")
    if with_l7:
        waypoint_current(demo, N2)
        misconfigurations_current(demo)
    return demo


def misconfigurations_current(demo: Demo) -> None:
    f = "60-misconfigurations.yaml"
    e = ERAS["1.28"]
    demo.headers[f] = f"""# Demo cluster `{demo.name}`: DELIBERATE MISCONFIGURATIONS for ambientctl to find (not in the seed).
# (a) is on the details Service in 30-bookinfo.yaml. (b)-(e) are here. See README.md for the expected findings."""
    demo.add(f, {
        "apiVersion": e["sec"], "kind": "AuthorizationPolicy",
        "metadata": demo.meta("ratings-viewer", "default", _kind="AuthorizationPolicy", generation=1),
        "spec": {"selector": {"matchLabels": {"app": "ratings"}}, "action": "ALLOW",
                 "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/default/sa/bookinfo-reviews"]}}],
                            "to": [{"operation": {"methods": ["GET"]}}]}]},
        "status": {"conditions": [condition(
            "ZtunnelAccepted", "True", "UnsupportedValue",
            "ztunnel does not support HTTP attributes (found: methods). In ambient mode you must use a waypoint "
            "proxy to enforce HTTP rules. Within an ALLOW policy, rules matching HTTP attributes are omitted. This "
            "will be more restrictive than requested.", demo.started, None)], "observedGeneration": "1"},
    }, "DELIBERATE MISCONFIGURATION (b): an L7 rule (methods) in a selector policy on a workload without a\n"
       "waypoint. ztunnel enforces it; istiod drops every ALLOW rule that has HTTP fields, leaving an ALLOW policy\n"
       "with no rules => nothing matches => every connection to ratings is denied, even from bookinfo-reviews\n"
       "(research/istio.md §4.2; status text from istiod 1.28.0 ambient/authorization.go httpRuleFmt).")
    # (c) hostNetwork pod in an ambient namespace
    namespace(demo, "monitoring", {"istio.io/dataplane-mode": "ambient"},
              "DELIBERATE MISCONFIGURATION (c): namespace enrolled in ambient, but its node-exporter pods use\n"
              "hostNetwork and are never captured (research/istio.md §5.1).")
    service_account(demo, f, "monitoring", "node-exporter", {"app.kubernetes.io/name": "node-exporter"})
    ne_labels = {"app.kubernetes.io/component": "metrics", "app.kubernetes.io/name": "node-exporter",
                 "app.kubernetes.io/part-of": "prometheus-node-exporter"}
    daemonset(demo, f, "monitoring", "node-exporter", {"app.kubernetes.io/name": "node-exporter"}, ne_labels,
              None,
              {"serviceAccountName": "node-exporter", "hostNetwork": True, "hostPID": True,
               "containers": [{"name": "node-exporter", "image": "quay.io/prometheus/node-exporter:v1.9.1",
                               "args": ["--path.procfs=/host/proc", "--path.sysfs=/host/sys",
                                        "--path.rootfs=/host/root", "--web.listen-address=[$(HOST_IP)]:9100"],
                               "ports": [{"containerPort": 9100, "name": "http-metrics"}]}]},
              [at(N1, None), at(N2, None)], labels=ne_labels,
              comment="DELIBERATE MISCONFIGURATION (c): hostNetwork pods (pod IP = node IP) in the ambient namespace\n"
                      "`monitoring`: never captured by ztunnel, no mesh identity; they call and are called in plaintext.")
    service(demo, f, "monitoring", "node-exporter", CUR_SVC["node-exporter"],
            [{"name": "http-metrics", "port": 9100, "targetPort": 9100}],
            {"app.kubernetes.io/name": "node-exporter"}, ne_labels)
    # (d) sidecar-injected httpbin in the ambient default namespace
    real = load_real("head/httpbin/httpbin.yaml")
    service_account(demo, f, "default", "httpbin")
    service_from_real(demo, f, real_obj(real, "Service", "httpbin"), "default", CUR_SVC["httpbin"])
    dep = deployment(demo, f, real_obj(real, "Deployment", "httpbin"), "default",
                     extra_template_labels={"sidecar.istio.io/inject": "true"},
                     comment="DELIBERATE MISCONFIGURATION (d): httpbin from the real samples/httpbin/httpbin.yaml\n"
                             "(copy: tests/realdata/istio-istio/samples/head/httpbin/), with the pod label\n"
                             "sidecar.istio.io/inject=true added (a leftover from a sidecar setup), in the ambient\n"
                             "namespace `default`: the sidecar injector wins and ztunnel never captures the pod.")

    def inject(spec: dict) -> None:
        spec["initContainers"] = [{
            "name": "istio-init", "image": e["proxy"],
            "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*",
                     "-x", "", "-b", "*", "-d", "15090,15021,15020", "--log_output_level=default:info"]}]
        spec["containers"].append({
            "name": "istio-proxy", "image": e["proxy"],
            "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--proxyLogLevel=warning",
                     "--proxyComponentLogLevel=misc:error", "--log_output_level=default:info"],
            "env": [{"name": "PILOT_CERT_PROVIDER", "value": "istiod"},
                    {"name": "CA_ADDR", "value": "istiod.istio-system.svc:15012"},
                    {"name": "ISTIO_META_CLUSTER_ID", "value": "Kubernetes"},
                    {"name": "ISTIO_META_INTERCEPTION_MODE", "value": "REDIRECT"},
                    {"name": "ISTIO_META_WORKLOAD_NAME", "value": "httpbin"},
                    {"name": "ISTIO_META_OWNER", "value":
                     "kubernetes://apis/apps/v1/namespaces/default/deployments/httpbin"},
                    {"name": "ISTIO_META_MESH_ID", "value": "cluster.local"},
                    {"name": "TRUST_DOMAIN", "value": "cluster.local"},
                    {"name": "ISTIO_META_ENABLE_HBONE", "value": "true"}],
            "ports": [{"containerPort": 15090, "name": "http-envoy-prom"}],
            "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}}})

    pods_of_deployment(demo, f, dep, [at(N1, CUR_IPS["httpbin"])],
                       annotations={"sidecar.istio.io/status": sidecar_status(),
                                    "istio.io/rev": "default",
                                    "kubectl.kubernetes.io/default-container": "httpbin",
                                    "kubectl.kubernetes.io/default-logs-container": "httpbin",
                                    "prometheus.io/path": "/stats/prometheus", "prometheus.io/port": "15020",
                                    "prometheus.io/scrape": "true"},
                       extra_labels={"security.istio.io/tlsMode": "istio",
                                     "service.istio.io/canonical-name": "httpbin",
                                     "service.istio.io/canonical-revision": "v1"},
                       spec_patch=inject,
                       comment="DELIBERATE MISCONFIGURATION (d): the injected pod as the webhook writes it "
                               "(istio-init + istio-proxy,\nsidecar.istio.io/status, security.istio.io/tlsMode=istio). "
                               "No ambient.istio.io/redirection annotation.")
    # (e) an out-of-mesh namespace with a plaintext client
    namespace(demo, "legacy", None,
              "DELIBERATE (e): an out-of-mesh namespace (no istio.io/dataplane-mode label) with a plaintext client.")
    sleep_apps(demo, CUR_PLACE, {"legacy/sleep": CUR_IPS["legacy-sleep"]}, CUR_SVC, {}, ns="legacy",
               which=("sleep",), file=f)


BUILDERS = {}


def set_service_status(demo: Demo, ns: str, name: str, cond: dict) -> None:
    for _, obj in (o for docs in demo.files.values() for o in docs):
        if obj["kind"] == "Service" and obj["metadata"]["name"] == name and obj["metadata"].get("namespace") == ns:
            obj["status"]["conditions"] = [cond]
            return
    raise KeyError(name)


def add_waypoint_bound_status(demo: Demo) -> None:
    for svc in ("productpage", "reviews"):
        set_service_status(demo, "default", svc, condition(
            "istio.io/WaypointBound", "True", "WaypointAccepted", "Successfully attached to waypoint default/waypoint",
            demo.started, None))
    set_service_status(demo, "default", "details", condition(
        "istio.io/WaypointBound", "False", "WaypointIsNotReady", 'waypoint "default/details-waypoint" is not ready',
        demo.started, None))


def build_current(name: str, with_l7: bool) -> Demo:
    demo = _build_current_base(name, with_l7)
    if with_l7:
        add_waypoint_bound_status(demo)
    return demo


NP_IPS = {"tcp-echo": "192.168.36.88"}
NP_SVC = {"tcp-echo": "10.100.201.9"}
CILIUM_IMAGE = "quay.io/cilium/cilium:v1.20.2"


def networkpolicy_current(demo: Demo, era: str) -> list[str]:
    """The top two ambient problems of research/istio-2026.md §2: NetworkPolicies that admit the app port but not
    HBONE 15008, and kubelet probes (SNATed to 169.254.7.127) dropped by a default-deny policy under Cilium.
    Returns the names of pods that are deliberately not Ready (their probe is dropped)."""
    f = "80-networkpolicy.yaml"
    demo.headers[f] = f"""# Demo cluster `{demo.name}`: Kubernetes NetworkPolicy, enforced by Cilium (research/istio-2026.md §2 items 1-2,
# the most common reasons ambient traffic fails; research/istio.md §6.5). DELIBERATE MISCONFIGURATIONS:
# (n1) default/ratings-from-reviews admits TCP 9080 from the reviews pods but not HBONE 15008: in ambient every
#      connection from a captured client arrives on 15008 (istio.io ambient/usage/networkpolicy), so
#      reviews -> ratings times out after 10 s with `connection timed out, maybe a NetworkPolicy is blocking HBONE
#      port 15008` (ztunnel PR #1229; the Bitnami/Calico reports istio#52742, bitnami/charts#31394).
# (n2) namespace echo is default-deny with an allow of TCP 9000-9001 from namespace default: HBONE from sleep is
#      dropped as in (n1), and the kubelet's readiness probe, SNATed to 169.254.7.127 by istio-cni, is no longer
#      node traffic, so Cilium drops it and tcp-echo never turns Ready (Istio's Cilium prerequisite: a
#      CiliumClusterwideNetworkPolicy allowing 169.254.7.127/32; istio#49277)."""
    cilium_labels = {"app.kubernetes.io/name": "cilium-agent", "app.kubernetes.io/part-of": "cilium",
                     "k8s-app": "cilium"}
    daemonset(demo, f, "kube-system", "cilium", {"k8s-app": "cilium"}, cilium_labels, None,
              {"serviceAccountName": "cilium", "hostNetwork": True, "priorityClassName": "system-node-critical",
               "containers": [{"name": "cilium-agent", "image": CILIUM_IMAGE, "command": ["cilium-agent"],
                               "args": ["--config-dir=/tmp/cilium/config-map"]}]},
              [at(N1, None), at(N2, None)], labels={"k8s-app": "cilium", "app.kubernetes.io/part-of": "cilium"},
              comment="Cilium in chaining mode over the VPC CNI (helm cni.chainingMode=aws-cni, cni.exclusive=false as\n"
                      "Istio's platform prerequisites require): the VPC CNI assigns pod IPs, Cilium enforces NetworkPolicy.")
    service_account(demo, f, "kube-system", "cilium")
    demo.add(f, {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": demo.meta("ratings-from-reviews", "default", _kind="NetworkPolicy", generation=1),
        "spec": {"podSelector": {"matchLabels": {"app": "ratings"}}, "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "reviews"}}}],
                              "ports": [{"port": 9080, "protocol": "TCP"}]}]},
    }, "(n1) Written before the namespace joined the mesh: only reviews may call ratings, on its app port. Missing:\n"
       "`- {port: 15008, protocol: TCP}` (what istio.io ambient/usage/networkpolicy tells users to add).")
    namespace(demo, "echo", {"istio.io/dataplane-mode": "ambient"}, "(n2) An ambient namespace with a default-deny policy.")
    real = load_real("head/tcp-echo/tcp-echo.yaml")
    service_account(demo, f, "echo", "default")
    service_from_real(demo, f, real_obj(real, "Service", "tcp-echo"), "echo", NP_SVC["tcp-echo"])
    dep_doc = real_obj(real, "Deployment", "tcp-echo")
    dep_doc["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {
        "tcpSocket": {"port": 9000}, "periodSeconds": 10, "timeoutSeconds": 1}
    dep = deployment(demo, f, dep_doc, "echo", replicas_ready=0,
                     comment="The real istio/istio samples/tcp-echo/tcp-echo.yaml (head) plus a tcpSocket readiness probe on\n"
                             "9000 (the sample has none): kubelet probes are what in-pod redirection SNATs to 169.254.7.127.")
    (p,) = pods_of_deployment(demo, f, dep, [at(N1, NP_IPS["tcp-echo"])], annotations=REDIRECT)
    st = p["status"]
    for c in st["conditions"]:
        if c["type"] in ("Ready", "ContainersReady"):
            c.update(status="False", reason="ContainersNotReady",
                     message="containers with unready status: [tcp-echo]")
    for cs in st["containerStatuses"]:
        cs["ready"] = False
    dep["status"].update(availableReplicas=0, readyReplicas=0, unavailableReplicas=1)
    dep["status"]["conditions"][0].update(status="False", reason="MinimumReplicasUnavailable",
                                          message="Deployment does not have minimum availability.")
    demo.add(f, {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": demo.meta("default-deny", "echo", _kind="NetworkPolicy", generation=1),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }, "(n2) Default deny of ingress for every pod of the namespace (kubernetes.io NetworkPolicy \"Default policies\").")
    demo.add(f, {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": demo.meta("allow-from-default", "echo", _kind="NetworkPolicy", generation=1),
        "spec": {"podSelector": {"matchLabels": {"app": "tcp-echo"}}, "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                     "kubernetes.io/metadata.name": "default"}}}],
                              "ports": [{"port": 9000, "endPort": 9001, "protocol": "TCP"}]}]},
    }, "(n2) Clients in namespace default may use the echo ports 9000-9001; neither 15008 (HBONE) nor\n"
       "169.254.7.127 (probes) is admitted.")
    return [p["metadata"]["name"]]


# ---------------------------------------------------------------------------------------------------------
# seed-2022: the experimental-ambient build the seeds used


S22_IPS = {
    "sleep": "192.168.58.148", "notsleep": "192.168.47.210", "details-v1": "192.168.35.77",
    "reviews-v1": "192.168.52.19", "reviews-v3": "192.168.61.4", "istiod": "192.168.44.161",
    "ztunnel1": "192.168.39.25", "coredns1": "192.168.33.140", "wp-reviews": "192.168.55.7",
    "productpage-v1": "192.168.13.108", "reviews-v2": "192.168.7.203", "ratings-v1": "192.168.26.57",
    "wp-productpage": "192.168.19.66", "ztunnel2": "192.168.3.181", "coredns2": "192.168.28.9",
    "ingress": "192.168.9.77",
}


def waypoint_2022(demo: Demo, f: str, gw_name: str, sa: str, node_name: str, ip: str) -> None:
    e = ERAS["2022"]
    gw_uid = uid(f"{demo.seed}/default/{gw_name}/Gateway")
    msg = f'Deployed waypoint proxy to "default" namespace for "{sa}" service account'
    demo.add(f, {
        "apiVersion": e["gw"], "kind": "Gateway",
        "metadata": demo.meta(gw_name, "default", None, {"istio.io/service-account": sa}, _kind="Gateway",
                              generation=1),
        "spec": {"gatewayClassName": "istio-mesh"},
        "status": {"conditions": [condition("Ready", "True", "Ready", msg, demo.started),
                                  condition("Scheduled", "True", "Scheduled", msg, demo.started)]},
    }, f"Seed step {'10' if gw_name == 'productpage' else '10.3'}: exactly the seed's Gateway (no listeners: the experimental\n"
       "controller only read the class name and the annotation). Status: the Ready condition text of the real 2022\n"
       "blog output (getting-started-command-outputs.txt block [A]); the controller at 191fe680\n"
       "(pilot/pkg/ambient/controller/waypoint_controller.go) writes the same message to Ready and Scheduled.")
    proxy = f"{sa}-waypoint-proxy"
    lab = {"ambient-type": "waypoint", "ambient-proxy": proxy, "gateway.istio.io/managed": "istio.io-mesh-controller",
           "istio.io/gateway-name": gw_name}
    dep = deployment(demo, f, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": proxy, "labels": dict(lab)},
        "spec": {"selector": {"matchLabels": {"ambient-type": "waypoint", "ambient-proxy": proxy}},
                 "template": {"metadata": {"labels": {**lab, "sidecar.istio.io/inject": "false"},
                                           "annotations": {"prometheus.io/path": "/stats/prometheus",
                                                           "prometheus.io/port": "15020",
                                                           "prometheus.io/scrape": "true"}},
                              "spec": {"serviceAccountName": sa, "terminationGracePeriodSeconds": 2,
                                       "containers": [{
                                           "name": "istio-proxy", "image": e["proxy"],
                                           "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local",
                                                    "--serviceCluster", f"{proxy}.$(POD_NAMESPACE)",
                                                    "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error",
                                                    "--trust-domain=cluster.local", "--concurrency", "2"],
                                           "env": [{"name": "ISTIO_META_GENERATOR", "value": "ambient-waypoint"},
                                                   {"name": "ISTIO_META_AMBIENT_TYPE", "value": "waypoint"},
                                                   {"name": "ISTIO_META_CLUSTER_ID", "value": "Kubernetes"}],
                                           "ports": [{"containerPort": 15020, "name": "metrics"},
                                                     {"containerPort": 15021, "name": "status-port"}],
                                           "readinessProbe": {"httpGet": {"path": "/healthz/ready",
                                                                          "port": 15021}}}]}}},
    }, "default", owner={"apiVersion": e["gw"], "kind": "Gateway", "name": gw_name, "uid": gw_uid},
        comment=f"The waypoint Deployment the 2022 controller rendered from istio-discovery/files/waypoint.yaml at\n"
                f"191fe680: named <service account>-waypoint-proxy, running AS the service account it serves ({sa}).")
    pods_of_deployment(demo, f, dep, [at(node_name, ip)],
                       comment="Waypoint pod: ambient-type=waypoint opts it out of capture (ambientpod/podutil.go).")


def build_seed_2022() -> Demo:
    HASH_OVERRIDES.clear()
    HASH_OVERRIDES.update(SEED_HASHES)
    era = "2022"
    e = ERAS[era]
    demo = Demo("seed-2022", "2022-09-19T08:02:11Z", "2022-09-19T08:40:36Z", seed="eks-2022")
    cluster_base(demo, era)
    kube_system(demo, era, S22_IPS)
    f = "20-istio-system.yaml"
    demo.headers[f] = """# Demo cluster `seed-2022`: the Sep 2022 experimental-ambient build the seeds used
# (istio-0.0.0-ambient.191fe680b52c1754ee72a06b3e0d3f9d116f2e82, `istioctl install --set profile=ambient`).
# Shapes from istio/istio commit 191fe680 (branch experimental-ambient, 2022-09-06): ztunnel was Envoy (image
# proxyv2, `proxy sidecar`, ISTIO_META_GENERATOR=ztunnel-envoy, pod label ambient-type=ztunnel) from
# manifests/charts/istio-control/istio-discovery/templates/ambient.yaml; mesh config ambientMesh.mode DEFAULT
# and istiod env from manifests/profiles/ambient.yaml. Image hub gcr.io/istio-testing is that build's chart
# default for dev builds ("Dev builds from prow are on gcr.io"); the tag is the release name under
# gcsweb.istio.io/gcs/istio-build/dev/. Pod names are the seed's (001_e807b8d8164aa239.txt step 6)."""
    env = [{"name": "REVISION", "value": "default"}, {"name": "JWT_POLICY", "value": "third-party-jwt"},
           {"name": "PILOT_CERT_PROVIDER", "value": "istiod"},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
           {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                "fieldPath": "metadata.namespace"}}},
           {"name": "PILOT_TRACE_SAMPLING", "value": "1"},
           {"name": "PILOT_ENABLE_PROTOCOL_SNIFFING_FOR_OUTBOUND", "value": "true"},
           {"name": "PILOT_ENABLE_PROTOCOL_SNIFFING_FOR_INBOUND", "value": "true"},
           {"name": "ISTIOD_ADDR", "value": "istiod.istio-system.svc:15012"},
           {"name": "PILOT_ENABLE_ANALYSIS", "value": "false"}, {"name": "CLUSTER_ID", "value": "Kubernetes"},
           {"name": "ENABLE_AUTO_SNI", "value": "true"},
           {"name": "PILOT_ENABLE_INBOUND_PASSTHROUGH", "value": "false"},
           {"name": "VERIFY_CERTIFICATE_AT_CLIENT", "value": "true"}]
    istiod(demo, f, era, N1, S22_IPS["istiod"], "10.100.62.221", "istiod-6c99d96db7-4ckbm", env,
           hash_override="6c99d96db7")
    demo.add(f, {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": demo.meta("istio", "istio-system", {
                     "install.operator.istio.io/owning-resource": "unknown", "istio.io/rev": "default",
                     "operator.istio.io/component": "Pilot", "release": "istio"}, _kind="ConfigMap"),
                 "data": {"mesh": "ambientMesh:\n  mode: DEFAULT\n" + mesh_config(
                     "extensionProviders:\n- name: prometheus\n  prometheus: {}\n"),
                          "meshNetworks": "networks: {}"}},
            "Mesh config of the 2022 ambient profile: ambientMesh.mode DEFAULT = namespaces opt in with\n"
            "istio.io/dataplane-mode=ambient (ambientpod/podutil.go IsNamespaceActive).")
    istio_cni(demo, f, era, ["istio-cni-node-gfmqp", "istio-cni-node-t2flv"])
    service_account(demo, f, "istio-system", "ztunnel", {"app": "ztunnel", "release": "istio"})
    zspec = {"serviceAccountName": "ztunnel",
             "tolerations": [{"effect": "NoSchedule", "operator": "Exists"},
                             {"key": "CriticalAddonsOnly", "operator": "Exists"},
                             {"effect": "NoExecute", "operator": "Exists"}],
             "initContainers": [{"name": "istio-init", "image": e["ztunnel"], "command": ["sh", "-c", "set -ex\n# iptables/ipset/tproxy setup (ambient.yaml)\n"],
                                 "securityContext": {"privileged": True, "capabilities": {"add": ["NET_ADMIN"]}}}],
             "containers": [{"name": "istio-proxy", "image": e["ztunnel"], "args": ["proxy", "sidecar"],
                             "env": [{"name": "ISTIO_META_GENERATOR", "value": "ztunnel-envoy"},
                                     {"name": "ISTIO_META_AMBIENT_TYPE", "value": "ztunnel"},
                                     {"name": "ISTIO_META_CLUSTER_ID", "value": "Kubernetes"},
                                     {"name": "CREDENTIAL_FETCHER_TYPE", "value": "TokenRequest"},
                                     {"name": "ISTIO_META_ENABLE_HBONE", "value": "true"}],
                             "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}},
                             "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15020}}}]}
    daemonset(demo, f, "istio-system", "ztunnel", {"app": "ztunnel"},
              {"sidecar.istio.io/inject": "false", "app": "ztunnel", "ambient-type": "ztunnel"},
              {"sidecar.istio.io/inject": "false"}, zspec,
              [at(N1, S22_IPS["ztunnel1"]), at(N2, S22_IPS["ztunnel2"])], pod_names=["ztunnel-fnjg2", "ztunnel-k4jhb"],
              comment="ztunnel (Envoy-based in 2022): ztunnel-fnjg2 on sleep's node, ztunnel-k4jhb on productpage's node.")
    # istio-ingressgateway (installed by the 2022 ambient profile; the seed lists it, and does not use it)
    HASH_OVERRIDES["istio-system/istio-ingressgateway"] = "f6d95c86b"
    service_account(demo, f, "istio-system", "istio-ingressgateway-service-account",
                    {"app": "istio-ingressgateway", "istio": "ingressgateway"})
    ig_labels = {"app": "istio-ingressgateway", "istio": "ingressgateway", "install.operator.istio.io/owning-resource":
                 "unknown", "operator.istio.io/component": "IngressGateways", "release": "istio"}
    dep = deployment(demo, f, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "istio-ingressgateway", "labels": dict(ig_labels)},
        "spec": {"selector": {"matchLabels": {"app": "istio-ingressgateway", "istio": "ingressgateway"}},
                 "template": {"metadata": {"labels": {**ig_labels, "service.istio.io/canonical-name":
                                                      "istio-ingressgateway", "service.istio.io/canonical-revision":
                                                      "latest", "sidecar.istio.io/inject": "false"},
                                           "annotations": {"prometheus.io/path": "/stats/prometheus",
                                                           "prometheus.io/port": "15020",
                                                           "prometheus.io/scrape": "true"}},
                              "spec": {"serviceAccountName": "istio-ingressgateway-service-account",
                                       "containers": [{"name": "istio-proxy", "image": e["proxy"],
                                                       "args": ["proxy", "router", "--domain",
                                                                "$(POD_NAMESPACE).svc.cluster.local"],
                                                       "ports": [{"containerPort": 15021, "name": "status-port"},
                                                                 {"containerPort": 8080, "name": "http2"},
                                                                 {"containerPort": 8443, "name": "https"},
                                                                 {"containerPort": 15090, "name": "http-envoy-prom"}]}]}}},
    }, "istio-system")
    pods_of_deployment(demo, f, dep, [at(N2, S22_IPS["ingress"])], names=["istio-ingressgateway-f6d95c86b-mfk4t"])
    svc = service(demo, f, "istio-system", "istio-ingressgateway", "10.100.36.173",
                  [{"name": "status-port", "port": 15021, "targetPort": 15021, "nodePort": 31460},
                   {"name": "http2", "port": 80, "targetPort": 8080, "nodePort": 30765},
                   {"name": "https", "port": 443, "targetPort": 8443, "nodePort": 32417}],
                  {"app": "istio-ingressgateway", "istio": "ingressgateway"}, ig_labels,
                  comment="LoadBalancer Service of the ingress gateway (an AWS ELB on EKS).")
    svc["spec"]["type"] = "LoadBalancer"
    svc["spec"]["externalTrafficPolicy"] = "Cluster"
    svc["spec"]["allocateLoadBalancerNodePorts"] = True
    svc["status"] = {"loadBalancer": {"ingress": [
        {"hostname": "a3f1c0d2b9e8747d6a1f0e5c2b7d9e41-1482395532.us-east-1.elb.amazonaws.com"}]}}
    gateway_classes(demo, f, era, [("istio", "istio.io/gateway-controller", "The default Istio GatewayClass")])

    wl = {"ambient-type": "workload"}
    bookinfo_apps(demo, era, CUR_PLACE, S22_IPS, CUR_SVC, SEED_NAMES, pod_labels=wl)
    sleep_apps(demo, CUR_PLACE, {"default/sleep": S22_IPS["sleep"], "default/notsleep": S22_IPS["notsleep"]},
               CUR_SVC, SEED_NAMES, pod_labels=wl)
    demo.headers["30-bookinfo.yaml"] += ("\n# 2022: istiod's auto-labeler (pilot/pkg/ambient/controller/autolabel.go at 191fe680) added\n"
                                         "# ambient-type=workload to every pod outside system namespaces; there was no\n"
                                         "# ambient.istio.io/redirection annotation yet.")
    f = "40-waypoints.yaml"
    demo.headers[f] = """# Demo cluster `seed-2022`: the seed's waypoints (steps 10 and 10.3): one istio-mesh Gateway per service
# account (research/istio.md §5.3). Waypoint proxies had no Service: ztunnel found them by pod label."""
    waypoint_2022(demo, f, "productpage", "bookinfo-productpage", N2, S22_IPS["wp-productpage"])
    waypoint_2022(demo, f, "reviews", "bookinfo-reviews", N1, S22_IPS["wp-reviews"])
    f = "50-policies.yaml"
    demo.headers[f] = """# Demo cluster `seed-2022`: the seed's policies and routing rules, final state (after step 10.4).
# Seed: 001_e807b8d8164aa239.txt steps 10.1, 10.3, 10.4."""
    demo.add(f, {
        "apiVersion": e["sec"], "kind": "AuthorizationPolicy",
        "metadata": demo.meta("productpage-viewer", "default", _kind="AuthorizationPolicy", generation=2),
        "spec": {"selector": {"matchLabels": {"app": "productpage"}}, "action": "ALLOW",
                 "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/default/sa/sleep"]}}],
                            "to": [{"operation": {"methods": ["GET"]}}]}]},
    }, "Seed step 10.1, exactly as written (the L4 version of step 9.2 updated in place, hence generation 2).\n"
       "In 2022 the waypoint serving the selected pods' service account enforced selector policies, with L7 fields.")
    seed_reviews_routing(demo, f, era)
    seed_fault_delay(demo, f, era)
    return demo


BUILDERS["seed-2022"] = build_seed_2022



# ---------------------------------------------------------------------------------------------------------
# hairpin-1.20: node-level redirection era, service-account waypoint, hairpinning


H20_IPS = dict(CUR_IPS)
H20_IPS.update({"waypoint": "192.168.36.201", "legacy-sleep": "192.168.11.54", "ztunnel1": "192.168.37.118",
                "ztunnel2": "192.168.14.230", "istiod": "192.168.45.12"})
H20_SVC = dict(CUR_SVC)
H20_SVC.update({"waypoint": "10.100.121.60"})
H20_PLACE = dict(CUR_PLACE)
H20_PLACE["legacy/sleep"] = N2


def build_hairpin_1_20() -> Demo:
    HASH_OVERRIDES.clear()
    HASH_OVERRIDES.update(SEED_HASHES)
    era = "1.20"
    e = ERAS[era]
    demo = Demo("hairpin-1.20", "2024-02-20T10:05:11Z", "2024-02-20T10:13:29Z", seed="eks-1.20")
    cluster_base(demo, era)
    kube_system(demo, era, H20_IPS)
    f = "20-istio-system.yaml"
    demo.headers[f] = """# Demo cluster `hairpin-1.20`: Istio 1.20.3, `istioctl install --set profile=ambient`.
# Shapes from istio/istio tag 1.20.3: manifests/profiles/ambient.yaml (istiod env), manifests/charts/ztunnel
# (Rust ztunnel, pods annotated ambient.istio.io/redirection=disabled), manifests/charts/istio-cni. In 1.20
# istio-cni redirected captured pods at the node level (to ztunnel over istioin/istioout), research/istio.md §2.1."""
    env = [{"name": "REVISION", "value": "default"}, {"name": "JWT_POLICY", "value": "third-party-jwt"},
           {"name": "PILOT_CERT_PROVIDER", "value": "istiod"},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
           {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                "fieldPath": "metadata.namespace"}}},
           {"name": "PILOT_TRACE_SAMPLING", "value": "1"},
           {"name": "PILOT_ENABLE_ANALYSIS", "value": "false"}, {"name": "CLUSTER_ID", "value": "Kubernetes"},
           {"name": "CA_TRUSTED_NODE_ACCOUNTS", "value": "istio-system/ztunnel,kube-system/ztunnel"},
           {"name": "ENABLE_AUTO_SNI", "value": "true"}, {"name": "PILOT_ENABLE_AMBIENT_CONTROLLERS", "value": "true"},
           {"name": "PILOT_ENABLE_HBONE", "value": "true"}, {"name": "VERIFY_CERTIFICATE_AT_CLIENT", "value": "true"}]
    istiod(demo, f, era, N1, H20_IPS["istiod"], H20_SVC["istiod"], None, env)
    demo.add(f, {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": demo.meta("istio", "istio-system", {
                     "install.operator.istio.io/owning-resource": "unknown", "istio.io/rev": "default",
                     "operator.istio.io/component": "Pilot", "release": "istio"}, _kind="ConfigMap"),
                 "data": {"mesh": mesh_config("extensionProviders:\n- name: prometheus\n  prometheus: {}\n"),
                          "meshNetworks": "networks: {}"}})
    istio_cni(demo, f, era)
    service_account(demo, f, "istio-system", "ztunnel", {"app": "ztunnel"})
    daemonset(demo, f, "istio-system", "ztunnel", {"app": "ztunnel"},
              {"sidecar.istio.io/inject": "false", "app": "ztunnel"},
              {"ambient.istio.io/redirection": "disabled", "cni.projectcalico.org/allowedSourcePrefixes":
               '["0.0.0.0/0"]', "sidecar.istio.io/inject": "false"},
              {"serviceAccountName": "ztunnel",
               "tolerations": [{"effect": "NoSchedule", "operator": "Exists"},
                               {"key": "CriticalAddonsOnly", "operator": "Exists"},
                               {"effect": "NoExecute", "operator": "Exists"}],
               "containers": [{"name": "istio-proxy", "image": e["ztunnel"], "args": ["proxy", "ztunnel"],
                               "env": [{"name": "CLUSTER_ID", "value": "Kubernetes"},
                                       {"name": "CA_ADDRESS", "value": "istiod.istio-system.svc:15012"},
                                       {"name": "RUST_LOG", "value": "info"}],
                               "ports": [{"containerPort": 15020, "name": "ztunnel-stats"}],
                               "securityContext": {"capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
                                                   "privileged": False, "runAsUser": 0},
                               "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}}}]},
              [at(N1, H20_IPS["ztunnel1"]), at(N2, H20_IPS["ztunnel2"])],
              comment="ztunnel 1.20 (Rust): one per node, with its own pod IP.")
    gateway_classes(demo, f, era, [
        ("istio", "istio.io/gateway-controller", "The default Istio GatewayClass"),
        ("istio-remote", "istio.io/unmanaged-gateway", "Remote to this cluster. Does not deploy or affect configuration."),
        ("istio-waypoint", "istio.io/mesh-controller", "The default Istio waypoint GatewayClass"),
    ])
    bookinfo_apps(demo, era, H20_PLACE, H20_IPS, H20_SVC, SEED_NAMES, pod_annotations=REDIRECT)
    sleep_apps(demo, H20_PLACE, {"default/sleep": H20_IPS["sleep"], "default/notsleep": H20_IPS["notsleep"]},
               H20_SVC, SEED_NAMES, pod_annotations=REDIRECT)
    # the waypoint
    f = "40-waypoint.yaml"
    demo.headers[f] = """# Demo cluster `hairpin-1.20`: the service-account waypoint of Istio 1.18-1.21, as
# `istioctl x waypoint apply --service-account bookinfo-productpage` created it (research/istio.md §5.3).
# Gateway status text: getting-started-command-outputs.txt block [C] (Istio 1.19/1.20 docs). Deployment,
# ServiceAccount and Service named <gateway>-istio-waypoint with pod label istio.io/gateway-name: shapes from
# istio/istio 1.20.3 pilot/pkg/config/kube/gateway/testdata/deployment/waypoint.yaml; status.addresses is the
# Service clusterIP because the istio-waypoint class reports IPAddress (1.20.3 deploymentcontroller.go)."""
    gw = "bookinfo-productpage"
    wname = f"{gw}-istio-waypoint"
    gw_owner = {"apiVersion": e["gw"], "kind": "Gateway", "name": gw, "uid": uid(f"{demo.seed}/default/{gw}/Gateway")}
    ts = demo.started
    demo.add(f, {
        "apiVersion": e["gw"], "kind": "Gateway",
        "metadata": demo.meta(gw, "default", None, {"istio.io/for-service-account": "bookinfo-productpage",
                                                    "gateway.istio.io/controller-version": "5"},
                              _kind="Gateway", generation=1),
        "spec": {"gatewayClassName": "istio-waypoint",
                 "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE",
                                "allowedRoutes": {"namespaces": {"from": "Same"}}}]},
        "status": {"addresses": [{"type": "IPAddress", "value": H20_SVC["waypoint"]}],
                   "conditions": [condition("Accepted", "True", "Accepted", "Resource accepted", ts),
                                  condition("Programmed", "True", "Programmed",
                                            f"Resource programmed, assigned to service(s) {wname}.default.svc."
                                            "cluster.local:15008", ts)],
                   "listeners": [{"name": "mesh", "attachedRoutes": 0, "supportedKinds": [],
                                  "conditions": [condition("Accepted", "True", "Accepted", "No errors found", ts),
                                                 condition("Conflicted", "False", "NoConflicts", "No errors found", ts),
                                                 condition("Programmed", "True", "Programmed", "No errors found", ts),
                                                 condition("ResolvedRefs", "True", "ResolvedRefs", "No errors found",
                                                           ts)]}]},
    }, "Waypoint for service account bookinfo-productpage only (istio.io/for-service-account): every connection to\n"
       "productpage-v1's pods goes through it, whatever address the caller used (research/istio.md §5.3).")
    managed = {"gateway.istio.io/managed": "istio.io-mesh-controller"}
    demo.add(f, {"apiVersion": "v1", "kind": "ServiceAccount",
                 "metadata": {**demo.meta(wname, "default", managed, _kind="ServiceAccount"),
                              "ownerReferences": [gw_owner]}})
    tl = {**managed, "istio.io/gateway-name": gw, "service.istio.io/canonical-name": wname,
          "service.istio.io/canonical-revision": "latest", "sidecar.istio.io/inject": "false"}
    dep = deployment(demo, f, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": wname, "labels": dict(managed)},
        "spec": {"selector": {"matchLabels": {"istio.io/gateway-name": gw}},
                 "template": {"metadata": {"labels": tl, "annotations": {
                     "ambient.istio.io/redirection": "disabled", "istio.io/rev": "default",
                     "prometheus.io/path": "/stats/prometheus", "prometheus.io/port": "15020",
                     "prometheus.io/scrape": "true"}},
                     "spec": {"serviceAccountName": wname, "terminationGracePeriodSeconds": 2,
                              "containers": [{
                                  "name": "istio-proxy", "image": e["proxy"],
                                  "args": ["proxy", "waypoint", "--domain", "$(POD_NAMESPACE).svc.cluster.local",
                                           "--serviceCluster", f"{wname}.$(POD_NAMESPACE)", "--proxyLogLevel",
                                           "warning", "--proxyComponentLogLevel", "misc:error",
                                           "--log_output_level", "default:info"],
                                  "env": [{"name": "JWT_POLICY", "value": "third-party-jwt"},
                                          {"name": "PILOT_CERT_PROVIDER", "value": "istiod"},
                                          {"name": "CA_ADDR", "value": "istiod.istio-system.svc:15012"},
                                          {"name": "ISTIO_META_CLUSTER_ID", "value": "Kubernetes"},
                                          {"name": "ISTIO_META_INTERCEPTION_MODE", "value": "REDIRECT"},
                                          {"name": "ISTIO_META_WORKLOAD_NAME", "value": wname},
                                          {"name": "ISTIO_META_OWNER", "value":
                                           f"kubernetes://apis/apps/v1/namespaces/default/deployments/{wname}"},
                                          {"name": "ISTIO_META_MESH_ID", "value": "cluster.local"},
                                          {"name": "TRUST_DOMAIN", "value": "cluster.local"}],
                                  "ports": [{"containerPort": 15020, "name": "metrics"},
                                            {"containerPort": 15021, "name": "status-port"},
                                            {"containerPort": 15090, "name": "http-envoy-prom"}],
                                  "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}}}]}}},
    }, "default", owner=gw_owner)
    pods_of_deployment(demo, f, dep, [at(N1, H20_IPS["waypoint"])],
                       comment=f"The waypoint pod; identity spiffe://cluster.local/ns/default/sa/{wname}.")
    service(demo, f, "default", wname, H20_SVC["waypoint"],
            [{"appProtocol": "tcp", "name": "status-port", "port": 15021},
             {"appProtocol": "all", "name": "mesh", "port": 15008}],
            {"istio.io/gateway-name": gw}, managed, owner=gw_owner)
    # policy
    f = "50-policies.yaml"
    demo.headers[f] = """# Demo cluster `hairpin-1.20`: the L7 policy, in the form Istio 1.20 waypoints apply.
# Finding (istio/istio 1.20.3 pilot/pkg/model/policyattachment.go getPolicyMatcher, added in 1.20.0): a waypoint
# IGNORES selector policies ("Ignoring workload-scoped ... because it has no targetRef" when IsWaypoint) and
# applies policies whose spec.targetRef is {group: gateway.networking.k8s.io, kind: Gateway, name: <its Gateway>}.
# (1.18/1.19 had no such check: waypoints applied selector policies matching their own labels, e.g.
# istio.io/gateway-name.) Selector policies on the destination pods went to ztunnel, which skipped them for
# traffic arriving from the pod's waypoint (research/istio.md §5.4)."""
    demo.add(f, {
        "apiVersion": e["sec"], "kind": "AuthorizationPolicy",
        "metadata": demo.meta("productpage-viewer", "default", _kind="AuthorizationPolicy", generation=1),
        "spec": {"targetRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gw},
                 "action": "ALLOW",
                 "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/default/sa/sleep"]}}],
                            "to": [{"operation": {"methods": ["GET"]}}]}]},
    }, "The seed's L7 productpage-viewer (sleep only, GET only), attached to the waypoint Gateway by targetRef.")
    # out-of-mesh callers
    namespace(demo, "legacy", None, "An out-of-mesh namespace (no istio.io/dataplane-mode label): plaintext clients.")
    sleep_apps(demo, H20_PLACE, {"legacy/sleep": H20_IPS["legacy-sleep"]}, H20_SVC, {}, ns="legacy",
               which=("sleep",), file="60-out-of-mesh.yaml",
               header="""# Demo cluster `hairpin-1.20`: callers outside the mesh.
# legacy/sleep (real samples/sleep/sleep.yaml at 1.22.0) runs on productpage's node; monitoring/node-exporter
# is a hostNetwork DaemonSet (source IP = node IP, no workload known to ztunnel).""")
    f = "60-out-of-mesh.yaml"
    namespace(demo, "monitoring")
    service_account(demo, f, "monitoring", "node-exporter", {"app.kubernetes.io/name": "node-exporter"})
    ne_labels = {"app.kubernetes.io/component": "metrics", "app.kubernetes.io/name": "node-exporter",
                 "app.kubernetes.io/part-of": "prometheus-node-exporter"}
    daemonset(demo, f, "monitoring", "node-exporter", {"app.kubernetes.io/name": "node-exporter"}, ne_labels, None,
              {"serviceAccountName": "node-exporter", "hostNetwork": True, "hostPID": True,
               "containers": [{"name": "node-exporter", "image": "quay.io/prometheus/node-exporter:v1.7.0",
                               "args": ["--path.procfs=/host/proc", "--path.sysfs=/host/sys",
                                        "--web.listen-address=[$(HOST_IP)]:9100"],
                               "ports": [{"containerPort": 9100, "name": "http-metrics"}]}]},
              [at(N1, None), at(N2, None)], labels=ne_labels)
    service(demo, f, "monitoring", "node-exporter", H20_SVC["node-exporter"],
            [{"name": "http-metrics", "port": 9100, "targetPort": 9100}],
            {"app.kubernetes.io/name": "node-exporter"}, ne_labels)
    return demo


BUILDERS["hairpin-1.20"] = build_hairpin_1_20


# ---------------------------------------------------------------------------------------------------------
# ambient-1.31: the Bookinfo cluster upgraded to Istio 1.31 and used the way people run ambient in 2026
# (research/istio-2026.md §2: egress through a waypoint, ingress gateway -> waypoint, weighted waypoint canary)

A131_IPS = {**CUR_IPS, "waypoint-v2": "192.168.44.77", "gateway": "192.168.36.21", "egress-waypoint": "192.168.25.9",
            "batch-sleep": "192.168.49.31"}
A131_SVC = {**CUR_SVC, "waypoint-v2": "10.100.88.165", "gateway": "10.100.140.21", "egress-waypoint": "10.100.88.170",
            "batch/sleep": "10.100.97.113"}
SE_VIP = "240.240.0.1"  # the first address of istiod's auto-allocation range 240.240.0.0/16 (ipallocate)


def _find(demo: Demo, kind: str, ns: str, name: str) -> dict:
    for _, obj in (o for docs in demo.files.values() for o in docs):
        md = obj["metadata"]
        if obj["kind"] == kind and md["name"] == name and md.get("namespace") == ns:
            return obj
    raise KeyError(f"{kind} {ns}/{name}")


def ingress_gateway_131(demo: Demo) -> None:
    """A Gateway API ingress (class istio) as istiod deploys it: the real sample samples/bookinfo/gateway-api/
    bookinfo-gateway.yaml, in its own namespace, with the Deployment/Service/ServiceAccount istiod renders
    (manifests/charts/istio-control/istio-discovery/files/kube-gateway.yaml labels)."""
    e = ERAS["1.31"]
    f = "45-ingress.yaml"
    demo.headers[f] = f"""# Demo cluster `{demo.name}`: an ingress gateway in front of Bookinfo (Gateway API, class istio).
# Derived from the real sample istio/istio samples/bookinfo/gateway-api/bookinfo-gateway.yaml (copy:
# tests/realdata/istio-istio/samples/head/bookinfo/gateway-api/): the Gateway lives in namespace istio-ingress
# (allowedRoutes from All, so the HTTPRoute can stay next to Bookinfo); the Deployment, Service and ServiceAccount
# carry the labels istiod's gateway template sets (istio-discovery/files/kube-gateway.yaml). The namespace is not
# enrolled: the gateway is an Envoy that speaks HBONE itself (research/istio.md §5.4, research/istio-2026.md §2.9)."""
    namespace(demo, "istio-ingress", None, "The ingress gateway's namespace (not enrolled in ambient).")
    real = load_real("head/bookinfo/gateway-api/bookinfo-gateway.yaml")
    gw = real_obj(real, "Gateway", "bookinfo-gateway")
    gw["spec"]["listeners"][0]["allowedRoutes"]["namespaces"]["from"] = "All"
    gw["metadata"] = demo.meta("bookinfo-gateway", "istio-ingress", _kind="Gateway", generation=1)
    ts = demo.started
    gw["status"] = {"addresses": [{"type": "Hostname",
                                   "value": "a3f1c2e9b8d74e0f9a6b5c4d3e2f1a0b-1184459027.us-east-1.elb.amazonaws.com"}],
                    "conditions": [condition("Accepted", "True", "Accepted", "Resource accepted", ts),
                                   condition("Programmed", "True", "Programmed", "Resource programmed, assigned to "
                                             "service(s) bookinfo-gateway-istio.istio-ingress.svc.cluster.local:80",
                                             ts)]}
    demo.add(f, gw, "The sample's Gateway; listener allowedRoutes widened to All (the HTTPRoute is in default).")
    route = real_obj(real, "HTTPRoute", "bookinfo")
    route["spec"]["parentRefs"][0]["namespace"] = "istio-ingress"
    route["metadata"] = demo.meta("bookinfo", "default", _kind="HTTPRoute", generation=1)
    demo.add(f, route, "The sample's HTTPRoute, parentRef pointing at the Gateway's namespace.")
    managed = {"gateway.istio.io/managed": "istio.io-gateway-controller",
               "gateway.networking.k8s.io/gateway-class-name": "istio",
               "gateway.networking.k8s.io/gateway-name": "bookinfo-gateway"}
    gw_owner = {"apiVersion": e["gw"], "kind": "Gateway", "name": "bookinfo-gateway",
                "uid": uid(f"{demo.seed}/istio-ingress/bookinfo-gateway/Gateway")}
    demo.add(f, {"apiVersion": "v1", "kind": "ServiceAccount",
                 "metadata": {**demo.meta("bookinfo-gateway-istio", "istio-ingress", managed, _kind="ServiceAccount"),
                              "ownerReferences": [gw_owner]}})
    tl = {**managed, "sidecar.istio.io/inject": "false", "service.istio.io/canonical-name": "bookinfo-gateway-istio",
          "service.istio.io/canonical-revision": "latest"}
    dep = deployment(demo, f, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "bookinfo-gateway-istio", "labels": dict(managed)},
        "spec": {"selector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": "bookinfo-gateway"}},
                 "template": {"metadata": {"labels": tl, "annotations": {
                     "istio.io/rev": "default", "prometheus.io/path": "/stats/prometheus",
                     "prometheus.io/port": "15020", "prometheus.io/scrape": "true"}},
                     "spec": {"serviceAccountName": "bookinfo-gateway-istio",
                              "containers": [{
                                  "name": "istio-proxy", "image": e["proxy"],
                                  "args": ["proxy", "router", "--domain", "$(POD_NAMESPACE).svc.cluster.local",
                                           "--proxyLogLevel", "warning", "--proxyComponentLogLevel", "misc:error",
                                           "--log_output_level", "default:info"],
                                  "env": [{"name": "PILOT_CERT_PROVIDER", "value": "istiod"},
                                          {"name": "CA_ADDR", "value": "istiod.istio-system.svc:15012"},
                                          {"name": "ISTIO_META_CLUSTER_ID", "value": "Kubernetes"},
                                          {"name": "ISTIO_META_WORKLOAD_NAME", "value": "bookinfo-gateway-istio"},
                                          {"name": "TRUST_DOMAIN", "value": "cluster.local"}],
                                  "ports": [{"containerPort": 15020, "name": "metrics"},
                                            {"containerPort": 15021, "name": "status-port"},
                                            {"containerPort": 15090, "name": "http-envoy-prom"}],
                                  "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}}}]}}},
    }, "istio-ingress", owner=gw_owner)
    pods_of_deployment(demo, f, dep, [at(N1, A131_IPS["gateway"])],
                       comment="The gateway pod (Envoy, role router); its identity is\n"
                               "spiffe://cluster.local/ns/istio-ingress/sa/bookinfo-gateway-istio.")
    svc = service(demo, f, "istio-ingress", "bookinfo-gateway-istio", A131_SVC["gateway"],
                  [{"appProtocol": "tcp", "name": "status-port", "port": 15021},
                   {"appProtocol": "http", "name": "http", "port": 80}],
                  {"gateway.networking.k8s.io/gateway-name": "bookinfo-gateway"}, managed, owner=gw_owner)
    svc["spec"]["type"] = "LoadBalancer"


def egress_131(demo: Demo) -> None:
    e = ERAS["1.31"]
    f = "70-egress.yaml"
    demo.headers[f] = f"""# Demo cluster `{demo.name}`: egress to httpbin.org through an egress waypoint (research/istio-2026.md §2.6).
# Shapes follow istio.io "Egress gateways" for ambient (a ServiceEntry labelled istio.io/use-waypoint in the
# waypoint's namespace, istioctl waypoint apply -n istio-egress). status.addresses is what istiod's IP
# auto-allocator (1.25+ default; pilot/pkg/controllers/ipallocate, range 240.240.0.0/16) writes for the host."""
    namespace(demo, "istio-egress", None, "Where the egress waypoint and the ServiceEntry live.")
    demo.add(f, {
        "apiVersion": e["net"], "kind": "ServiceEntry",
        "metadata": demo.meta("httpbin-org", "istio-egress", {"istio.io/use-waypoint": "egress-waypoint"},
                              _kind="ServiceEntry", generation=1),
        "spec": {"hosts": ["httpbin.org"], "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}],
                 "resolution": "DNS"},
        "status": {"addresses": [{"host": "httpbin.org", "value": SE_VIP}],
                   "conditions": [condition("istio.io/WaypointBound", "True", "WaypointAccepted",
                                            "Successfully attached to waypoint istio-egress/egress-waypoint",
                                            demo.started, None)]},
    }, "httpbin.org as a mesh service: bound to the egress waypoint; istiod allocated 240.240.0.1 for it, which\n"
       "ztunnel's DNS proxy answers to pods with DNS capture (on by default since 1.25).")
    demo.add(f, {
        "apiVersion": e["sec"], "kind": "AuthorizationPolicy",
        "metadata": demo.meta("httpbin-egress", "istio-egress", _kind="AuthorizationPolicy", generation=1),
        "spec": {"targetRefs": [{"kind": "ServiceEntry", "group": "networking.istio.io", "name": "httpbin-org"}],
                 "action": "ALLOW",
                 "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/default/sa/sleep",
                                                                "cluster.local/ns/batch/sa/sleep"]}}]}]},
    }, "Egress policy at the waypoint: only the sleep clients may reach httpbin.org.")
    waypoint_current(demo, N2, "1.31", "egress-waypoint", "istio-egress", A131_IPS["egress-waypoint"],
                     A131_SVC["egress-waypoint"], f=f, gw_comment="The egress waypoint (istioctl waypoint apply -n "
                     "istio-egress --name egress-waypoint).")
    namespace(demo, "batch", {"istio.io/dataplane-mode": "ambient"},
              "An enrolled namespace whose pods opt out of DNS capture (ambient.istio.io/dns-capture: \"false\").")
    sleep_apps(demo, {"batch/sleep": N1}, {"batch/sleep": A131_IPS["batch-sleep"]}, A131_SVC, {}, ns="batch",
               which=("sleep",), file=f, pod_annotations={**REDIRECT, "ambient.istio.io/dns-capture": "false"})


def build_ambient_131() -> Demo:
    HASH_OVERRIDES.clear()
    HASH_OVERRIDES.update(SEED_HASHES)
    demo = Demo("ambient-1.31", "2026-09-24T08:02:11Z", "2026-09-24T08:09:40Z", seed="eks-1.31")
    cluster_base(demo, "1.31")
    kube_system(demo, "1.31", CUR_IPS)
    istio_current(demo, "1.31")
    f = "20-istio-system.yaml"
    demo.add(f, {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": demo.meta("istio-cni-config", "istio-system", {
                     "app": "istio-cni", "app.kubernetes.io/name": "istio-cni", "istio.io/rev": "default",
                     "operator.istio.io/component": "Cni", "release": "istio-cni"}, _kind="ConfigMap"),
                 "data": {"CURRENT_AGENT_VERSION": "1.31.1", "AMBIENT_ENABLED": "true", "AMBIENT_DNS_CAPTURE": "true",
                          "AMBIENT_IPV6": "true", "AMBIENT_RECONCILE_POD_RULES_ON_STARTUP": "true",
                          "CHAINED_CNI_PLUGIN": "true", "EXCLUDE_NAMESPACES": "kube-system",
                          "REPAIR_ENABLED": "true", "NATIVE_NFTABLES": "false"}},
             "istio-cni's settings as the 1.31 chart renders them (manifests/charts/istio-cni/templates/"
             "configmap-cni.yaml):\nDNS capture on (ambient.dnsCapture default true since 1.25).")
    svc_labels = {"productpage": {"istio.io/use-waypoint": "waypoint", "istio.io/ingress-use-waypoint": "true"},
                  "reviews": {"istio.io/use-waypoint": "waypoint", "istio.io/use-waypoint-canary": "waypoint-v2"},
                  "details": {"istio.io/use-waypoint": "waypoint"}}
    svc_comments = {
        "productpage": "Bound to waypoint default/waypoint; istio.io/ingress-use-waypoint=true makes the ingress\n"
                       "gateway send to the waypoint too (1.24+; research/istio-2026.md §2.9).",
        "reviews": "1.31 weighted waypoint canary: 10% of connections to the new waypoint-v2 (label\n"
                   "istio.io/use-waypoint-canary, annotation istio.io/use-waypoint-canary-weight).",
        "details": "Bound to the waypoint, but without istio.io/ingress-use-waypoint: the ingress gateway skips it.",
    }
    bookinfo_apps(demo, "1.31", CUR_PLACE, CUR_IPS, CUR_SVC, SEED_NAMES, svc_labels, svc_comments,
                  pod_annotations=REDIRECT)
    _find(demo, "Service", "default", "reviews")["metadata"]["annotations"] = {
        "istio.io/use-waypoint-canary-weight": "10"}
    sleep_apps(demo, CUR_PLACE, {"default/sleep": CUR_IPS["sleep"], "default/notsleep": CUR_IPS["notsleep"]},
               CUR_SVC, SEED_NAMES, pod_annotations=REDIRECT)
    f = "50-policies.yaml"
    demo.headers[f] = f"""# Demo cluster `{demo.name}`: L7 policies at the waypoint (seed 001_e807b8d8164aa239.txt
# step 10.1 in current form), now also admitting the ingress gateway, and one for details."""
    e = ERAS["1.31"]
    demo.add(f, {
        "apiVersion": e["sec"], "kind": "AuthorizationPolicy",
        "metadata": demo.meta("productpage-viewer", "default", _kind="AuthorizationPolicy", generation=1),
        "spec": {"targetRefs": [{"kind": "Service", "group": "", "name": "productpage"}], "action": "ALLOW",
                 "rules": [{"from": [{"source": {"principals": [
                     "cluster.local/ns/default/sa/sleep", "cluster.local/ns/istio-ingress/sa/bookinfo-gateway-istio"]}}],
                     "to": [{"operation": {"methods": ["GET"]}}]}]},
    }, "The seed's L7 policy (GET only) at the waypoint, for sleep and the ingress gateway.")
    demo.add(f, {
        "apiVersion": e["sec"], "kind": "AuthorizationPolicy",
        "metadata": demo.meta("details-viewer", "default", _kind="AuthorizationPolicy", generation=1),
        "spec": {"targetRefs": [{"kind": "Service", "group": "", "name": "details"}], "action": "ALLOW",
                 "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/default/sa/bookinfo-productpage"]}}],
                            "to": [{"operation": {"methods": ["GET"]}}]}]},
    }, "details answers productpage only — at the waypoint. Ingress traffic skips that waypoint (no\n"
       "istio.io/ingress-use-waypoint on details), so this policy never sees it.")
    waypoint_current(demo, N2, "1.31")
    waypoint_current(demo, N1, "1.31", "waypoint-v2", ip=A131_IPS["waypoint-v2"], svc_ip=A131_SVC["waypoint-v2"],
                     gw_comment="Gateway `waypoint-v2`: the canary waypoint (e.g. a new proxy version), ready.")
    ingress_gateway_131(demo)
    egress_131(demo)
    networkpolicy_current(demo, "1.31")
    return demo


BUILDERS["ambient-1.31"] = build_ambient_131


if __name__ == "__main__":
    which = sys.argv[2:] or ["bookinfo", "bookinfo-l4", "seed-2022", "hairpin-1.20", "ambient-1.31"]
    for n in which:
        if n == "bookinfo":
            build_current("bookinfo", True).write()
        elif n == "bookinfo-l4":
            build_current("bookinfo-l4", False).write()
        elif n in BUILDERS:
            BUILDERS[n]().write()
        print("wrote", n)
