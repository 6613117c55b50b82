"""Which CNI enforces NetworkPolicy in this cluster, named from its DaemonSet (or the pods a DaemonSet owns).

It matters twice: a CNI without NetworkPolicy support (flannel alone) enforces none of them, and kubelet probes
SNAT'd to 169.254.7.127 by istio-cni are no longer recognised as node traffic, so each CNI's own policy model
decides (research/istio-2026.md §1.4, §2.2; istio.io ambient/install/platform-prerequisites for Cilium).
Unknown CNIs are said to be unknown, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ambientctl.model import Cluster

# DaemonSet name -> (CNI, enforces Kubernetes NetworkPolicy). Names are the ones the projects' manifests use.
_KNOWN: dict[str, tuple[str, bool]] = {
    "cilium": ("cilium", True),
    "anetd": ("cilium", True),  # GKE Dataplane V2 runs Cilium as anetd
    "calico-node": ("calico", True),
    "canal": ("calico", True),  # flannel networking + Calico policy
    "antrea-agent": ("antrea", True),
    "weave-net": ("weave", True),
    "kube-router": ("kube-router", True),
    "azure-npm": ("azure-npm", True),
    "kube-flannel-ds": ("flannel", False),
    "kube-flannel": ("flannel", False),
}


@dataclass(frozen=True)
class Cni:
    name: str  # cilium | calico | ... | unknown
    enforces: bool | None  # None: not known
    evidence: str  # what it was recognised by

    @property
    def known(self) -> bool:
        return self.name != "unknown"


def detect_cni(cluster: Cluster) -> Cni:
    names = {c.meta.name: f"DaemonSet {c.meta.key}" for c in cluster.controllers if c.kind == "DaemonSet"}
    for p in cluster.pods:
        if p.owner_kind == "DaemonSet" and p.owner_name not in names:
            names[p.owner_name] = f"pod {p.meta.key} of DaemonSet {p.owner_name}"
    found = [(n, _KNOWN[n], ev) for n, ev in sorted(names.items()) if n in _KNOWN]
    # A policy engine beside flannel (canal, calico) wins over flannel alone.
    found.sort(key=lambda f: not f[1][1])
    if found:
        _, (cni, enforces), ev = found[0]
        return Cni(cni, enforces, ev)
    aws = next((c for c in cluster.controllers if c.kind == "DaemonSet" and c.meta.name == "aws-node"), None)
    if aws is not None:
        agent = any(ct.name == "aws-network-policy-agent" for ct in aws.containers)
        return Cni("aws-vpc-cni", True if agent else None, f"DaemonSet {aws.meta.key}" +
                   (" with its network policy agent" if agent else ""))
    return Cni("unknown", None, "no DaemonSet of a known CNI in the snapshot")
