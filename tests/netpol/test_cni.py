"""The CNI named from its DaemonSet (or the pods a DaemonSet owns), and whether it enforces NetworkPolicy.
Names are those of the projects' own manifests (cilium, calico-node, canal, antrea-agent, weave-net, kube-router,
kube-flannel-ds; GKE Dataplane V2's anetd is Cilium; EKS's aws-node enforces only with its policy agent)."""

import pytest

from ambientctl.netpol import detect_cni
from tests.helpers import cluster_from_yaml, pod


def ds(name, containers=("main",)):
    cs = ", ".join(f"{{name: {c}}}" for c in containers)
    return f"""
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: {name}, namespace: kube-system}}
spec: {{template: {{metadata: {{labels: {{k8s-app: {name}}}}}, spec: {{containers: [{cs}]}}}}}}
"""


@pytest.mark.parametrize("text, name, enforces", [
    (ds("cilium"), "cilium", True),
    (ds("anetd"), "cilium", True),
    (ds("calico-node"), "calico", True),
    (ds("kube-flannel-ds") + ds("canal"), "calico", True),  # canal: flannel networking + Calico policy
    (ds("kube-flannel-ds"), "flannel", False),
    (ds("antrea-agent"), "antrea", True),
    (ds("aws-node"), "aws-vpc-cni", None),
    (ds("aws-node", ("aws-node", "aws-network-policy-agent")), "aws-vpc-cni", True),
    (ds("kube-proxy"), "unknown", None),
])
def test_detect_cni(text, name, enforces):
    c = detect_cni(cluster_from_yaml(text))
    assert (c.name, c.enforces) == (name, enforces)


def test_detect_from_pods_when_the_daemonset_is_not_in_the_snapshot():
    doc = pod("cilium-abcde", "kube-system", labels={"k8s-app": "cilium"}, host_network=True).replace(
        "metadata:\n", "metadata:\n  ownerReferences: [{kind: DaemonSet, name: cilium, apiVersion: apps/v1}]\n", 1)
    c = detect_cni(cluster_from_yaml(doc))
    assert c.name == "cilium" and "pod kube-system/cilium-abcde" in c.evidence
