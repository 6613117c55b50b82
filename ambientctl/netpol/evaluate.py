"""Kubernetes NetworkPolicy semantics for one connection as the CNI sees it (source IP, destination IP, port).

Semantics (kubernetes.io/docs/concepts/services-networking/network-policies and the field comments of
k8s.io/api networking/v1 types.go):
- A pod is isolated for ingress (egress) once any policy in its namespace selects it (`podSelector`, empty =
  every pod) with Ingress (Egress) in `policyTypes`; then only what some rule of those policies admits gets
  through — policies are additive (OR'd), there is no deny rule. A pod no policy selects allows everything.
- A rule admits a connection when one of its peers (`from`/`to`) and one of its `ports` match; an absent or empty
  list matches everything. A peer is an `ipBlock` (cidr minus `except`), or selectors: `podSelector` alone = pods
  of the policy's namespace, `namespaceSelector` alone = every pod of those namespaces, both = those pods of those
  namespaces. A port has a protocol (default TCP), a number (with `endPort`: a range) or a container-port name
  of the destination pod; no port = every port of the protocol.
- Traffic to and from the node where a pod runs is always allowed (the docs' exception) — when the CNI can tell
  it comes from the node — and a pod cannot block access to itself. Connections are checked at both ends: the source pod's egress and the destination
  pod's ingress must both allow it.
- hostNetwork pods share the node's address: pod selectors do not match them and their own policies are not
  enforced by the usual plugins (the docs leave hostNetwork behaviour to the plugin).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from ambientctl.model import objects as o


@dataclass(frozen=True)
class Endpoint:
    """One end of a connection as the CNI sees it."""

    ip: str
    pod: o.Pod | None = None  # None: a host process, an SNAT address or anything outside the pod network
    node: str = ""  # the node whose host sent (or receives) it, when the CNI can tell it is the node

    def describe(self) -> str:
        if self.pod is not None:
            return f"{self.ip} ({self.pod.meta.key})"
        if self.node:
            return f"{self.ip or 'the host'} (node {self.node})"
        return self.ip


@dataclass(frozen=True)
class Wire:
    """A connection on the wire: what NetworkPolicy is evaluated on."""

    src: Endpoint
    dst: Endpoint
    port: int
    protocol: str = "TCP"

    def describe(self) -> str:
        return f"{self.protocol} {self.src.describe()} -> {self.dst.describe()}:{self.port}"


@dataclass
class Side:
    """The verdict of one end: the source pod's egress or the destination pod's ingress."""

    direction: str  # egress | ingress
    pod: o.Pod
    allowed: bool
    selected_by: list[str] = field(default_factory=list)  # policies isolating the pod in this direction
    admitted_by: tuple[str, int] | None = None  # (policy, 0-based rule index) that let it through
    reason: str = ""


def selector_matches(sel: o.LabelSelector, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in sel.match_labels.items()):
        return False
    for r in sel.match_expressions:
        present = r.key in labels
        if r.operator == "In" and not (present and labels[r.key] in r.values):
            return False
        if r.operator == "NotIn" and present and labels[r.key] in r.values:
            return False
        if r.operator == "Exists" and not present:
            return False
        if r.operator == "DoesNotExist" and present:
            return False
    return True


def _in_block(ip: str, block: o.IPBlock) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    net = ipaddress.ip_network(block.cidr)
    if addr.version != net.version or addr not in net:
        return False
    return not any(addr in ipaddress.ip_network(e) for e in block.except_ if ipaddress.ip_network(e).version ==
                   addr.version)


class NetworkPolicies:
    """Every NetworkPolicy of a cluster, asked per connection."""

    def __init__(self, policies: list[o.NetworkPolicy], namespace_labels: Callable[[str], dict[str, str]]):
        self.policies = policies
        self.namespace_labels = namespace_labels

    def selecting(self, pod: o.Pod, direction: str) -> list[o.NetworkPolicy]:
        """The policies that isolate `pod` for `direction` (ingress | egress)."""
        if pod.host_network:
            return []
        kind = direction.capitalize()
        return [p for p in self.policies if p.meta.namespace == pod.meta.namespace and kind in p.policy_types
                and selector_matches(p.pod_selector, pod.meta.labels)]

    def check(self, wire: Wire) -> list[Side]:
        """The source pod's egress, then the destination pod's ingress (only ends that are pods)."""
        out = []
        if wire.src.pod is not None:
            out.append(self.side(wire, "egress"))
        if wire.dst.pod is not None:
            out.append(self.side(wire, "ingress"))
        return out

    def side(self, wire: Wire, direction: str) -> Side:
        pod, peer = (wire.dst.pod, wire.src) if direction == "ingress" else (wire.src.pod, wire.dst)
        assert pod is not None
        if pod.host_network:
            return Side(direction, pod, True, reason=f"{pod.meta.key} uses the host network: NetworkPolicy does not "
                        "isolate it")
        if wire.src.pod is not None and wire.src.pod is wire.dst.pod:
            return Side(direction, pod, True, reason=f"{pod.meta.key} connects to itself: a pod cannot block access "
                        "to itself (Kubernetes NetworkPolicy docs)")
        if peer.node and peer.node == pod.node_name:
            return Side(direction, pod, True, reason=f"{'from' if direction == 'ingress' else 'to'} its own node "
                        f"{peer.node}: always allowed (Kubernetes NetworkPolicy docs)")
        pols = self.selecting(pod, direction)
        if not pols:
            return Side(direction, pod, True, reason=f"no NetworkPolicy selects {pod.meta.key} for {direction}")
        keys = [p.meta.key for p in pols]
        for p in pols:
            rules = p.ingress if direction == "ingress" else p.egress
            for i, rule in enumerate(rules):
                if self._rule_matches(p, rule, wire, peer):
                    return Side(direction, pod, True, keys, (p.meta.key, i),
                                f"NetworkPolicy {p.meta.key} {direction} rule {i} admits {wire.describe()}")
        return Side(direction, pod, False, keys, None,
                    f"{pod.meta.key} is isolated for {direction} by NetworkPolicy {', '.join(keys)} and no rule admits "
                    f"{wire.describe()}: the CNI drops it")

    def _rule_matches(self, p: o.NetworkPolicy, rule: o.NetworkPolicyRule, wire: Wire, peer: Endpoint) -> bool:
        if rule.peers is not None and not any(self._peer_matches(p, x, peer) for x in rule.peers):
            return False
        if rule.ports is None:
            return True
        return any(_port_matches(x, wire) for x in rule.ports)

    def _peer_matches(self, p: o.NetworkPolicy, peer: o.NetworkPolicyPeer, end: Endpoint) -> bool:
        if peer.ip_block is not None:
            return _in_block(end.ip, peer.ip_block)
        pod = end.pod
        if pod is None or pod.host_network:
            return False
        if peer.namespace_selector is None:
            if pod.meta.namespace != p.meta.namespace:
                return False
        elif not selector_matches(peer.namespace_selector, self.namespace_labels(pod.meta.namespace)):
            return False
        return peer.pod_selector is None or selector_matches(peer.pod_selector, pod.meta.labels)


def _port_matches(port: o.NetworkPolicyPort, wire: Wire) -> bool:
    if port.protocol != wire.protocol:
        return False
    if port.port is None:
        return True
    if isinstance(port.port, int):
        return port.port <= wire.port <= (port.end_port or port.port)
    # A named port is the destination pod's container port of that name (types.go NetworkPolicyPort.Port).
    pod = wire.dst.pod
    if pod is None:
        return False
    return any(c.named_ports.get(port.port) == wire.port for c in pod.containers)
