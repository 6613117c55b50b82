"""Kubernetes NetworkPolicy, evaluated the way the cluster's CNI does, on the packets ambient puts on the wire.

Pure: no I/O. `evaluate` answers one connection (egress of its source pod, ingress of its destination pod);
`cni` names the CNI from its DaemonSet, because whether and how NetworkPolicy is enforced depends on it.
"""

from ambientctl.netpol.cni import Cni, detect_cni
from ambientctl.netpol.evaluate import Endpoint, NetworkPolicies, Side, Wire

__all__ = ["Cni", "Endpoint", "NetworkPolicies", "Side", "Wire", "detect_cni"]
