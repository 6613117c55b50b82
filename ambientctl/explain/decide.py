"""Policy decisions at one enforcement point (destination ztunnel, waypoint, sidecar), with the deciding
policy and rule, the reasons in evaluation order, and what the client and the logs show.

Semantics and sources:
- Order everywhere: CUSTOM (waypoints/sidecars only), then DENY — any match denies — then ALLOW: with no ALLOW
  policy everything is allowed, otherwise a match is required (istio/ztunnel src/state.rs `assert_rbac`; Istio
  AuthorizationPolicy reference). A policy with no rules matches nothing.
- A rule matches when its `from`, `to` and every `when` match; `from`/`to` entries are ORed; inside one entry
  every set field must match; string values are exact, `prefix*`, `*suffix` or `*` (presence, never the empty
  string); principals compare without `spiffe://`. Identity fields never match an identity-less (plaintext)
  peer, their `not*` forms do (ztunnel src/rbac.rs tests, research/istio.md §4.7).
- ztunnel sees only L4: istiod drops ALLOW rules with HTTP attributes and strips them from DENY rules (a DENY rule
  with only HTTP content never fires); CUSTOM/AUDIT and targetRefs policies never reach ztunnel
  (pilot/pkg/serviceregistry/ambient/authorization.go @86c9f01f).
- PeerAuthentication STRICT is the builtin DENY `<root>/istio_converted_static_strict` of identity-less peers;
  port-level modes become `<ns>/converted_peer_authentication_<name>` (research/istio.md §4.6).
- Waypoints apply targetRefs policies only (Service/ServiceEntry, their Gateway, GatewayClass from the root
  namespace) — also in 1.20 (policyattachment.go); the 2022 experimental waypoints applied the selector
  policies of the workloads they served (seed 001 §10.1).
- Dry-run (`istio.io/dry-run: "true"`) policies are logged, not enforced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ambientctl.authz.evaluate import Connection, Identity
from ambientctl.authz.waypoint import HttpRequest as AuthzRequest
from ambientctl.authz.waypoint import evaluate_request
from ambientctl.explain.path import Check, Party
from ambientctl.explain.policies import (
    enforced_by_waypoint,
    selects,
    summarize,
)
from ambientctl.explain.routing import HttpRequest
from ambientctl.explain.target import Target
from ambientctl.mesh.view import MeshView
from ambientctl.model import objects as o

RESET = "the client's connection is reset (curl: (56) Recv failure: Connection reset by peer)"
AGENTGATEWAY_WAYPOINT_CLASS = "istio-agentgateway-waypoint"
# 1.31 agentgateway waypoints (istio manifests/charts/istio-control/istio-discovery/files/agentgateway-waypoint.yaml
# @86c9f01f: container `agentgateway`, ports 15020/15021, no pilot-agent): what differs from an Envoy waypoint.
AGENTGATEWAY_EVIDENCE = (
    "{wp} is an agentgateway waypoint (class istio-agentgateway-waypoint, 1.31), not Envoy: its log (container "
    "agentgateway) is not Envoy's access log, so no response flags or rbac_access_denied_matched_policy detail, "
    "and there is no Envoy admin/config_dump on :15000; the verdict assumes it enforces AuthorizationPolicy like "
    "an Envoy waypoint (istio/istio 1.31 holds no AuthorizationPolicy translation for agentgateway to confirm it)")


@dataclass
class Decision:
    allowed: bool
    decided_by: dict[str, Any]
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    outcome: str = ""
    log: str = ""
    policy: dict[str, Any] | None = None
    log_field: str = ""  # ztunnelLog | proxyLog when the log is not the deciding component's own
    network_policy: dict[str, Any] | None = None  # the NetworkPolicy leg that dropped the connection
    # findings only this flow has (a destination's own findings are findings.py's: dry-run-enforced-by-old-ztunnel)
    findings: list[Any] = field(default_factory=list)

    @classmethod
    def bypassed_waypoint(cls, view: MeshView, check: Check) -> Decision:
        wp = check.waypoint.key if check.waypoint else "its waypoint"
        return cls(False, {"builtin": "bypassed-waypoint"},
                   [f"{check.enforcer} sees HBONE that did not come from {wp}: Istio {view.version} ztunnel rejects it "
                    "('bypassed waypoint', ztunnel 1.20 inbound.rs)"],
                   outcome="the CONNECT is answered 401 and " + RESET, log="bypassed waypoint")

    @classmethod
    def data_path_failure(cls, failure: str, component: str) -> Decision:
        return cls(False, {"failure": failure}, [f"{component} fails the connection: {failure}"],
                   outcome=RESET, log=failure)


def _policy_doc(view: MeshView, key: str | None, rule: int | None, enforced_at: str) -> dict[str, Any] | None:
    ap = next((a for a in view.cluster.authorization_policies if a.meta.key == key), None) if key else None
    if ap is None:
        return None
    t = view.authz_index.translations.get(ap.meta.key)
    notes = list(t.notes) if t is not None and enforced_at.startswith("enforced by ztunnel") else []
    return {"namespace": ap.meta.namespace, "name": ap.meta.name, "action": ap.action, "rule": rule,
            "scope": enforced_at, "says": summarize(ap), "notes": notes, "rules": ap.rules or []}


# --------------------------------------------------------------------------------------------------------


def sidecar_policies(view: MeshView, pod: o.Pod) -> list[o.AuthorizationPolicy]:
    root = view.install.root_namespace
    out = []
    for ap in view.cluster.of_kind("AuthorizationPolicy", pod.meta.namespace) + (
            view.cluster.of_kind("AuthorizationPolicy", root) if root != pod.meta.namespace else []):
        if ap.target_refs:
            continue
        if ap.selector is not None and not selects(ap.selector, pod.meta.labels):
            continue
        out.append(ap)
    return out


def _waypoint_of(view: MeshView, pod: o.Pod) -> tuple[str, str, list[str]] | None:
    wp = view.workload_waypoint(pod).waypoint or next(
        (b.waypoint for b in (view.service_waypoint(s) for s in view.services_for(pod)) if b.waypoint), None)
    return (wp.namespace, wp.name, [wp.service_account]) if wp else None


def dry_run_old_ztunnel_message(view: MeshView, key: str) -> str:
    """One sentence for describe's and explain's `dry-run-enforced-by-old-ztunnel` finding."""
    return (f"dry-run AuthorizationPolicy {key} is enforced for real: istiod {view.version} sends it with dryRun=true, "
            f"but ztunnel {view.install.ztunnel} (< 1.29) ignores that field (upgrade the ztunnels, or remove the "
            "policy)")


def decide(view: MeshView, check: Check, src: Party, ep: o.Pod | None, tgt: Target, req: HttpRequest,
           protocol: str) -> Decision:
    identity = Identity.parse(check.peer_identity) if check.peer_identity else None
    port = tgt.target_port(ep) if ep is not None else tgt.port
    http = protocol == "http"
    src_ip = check.peer_ip or src.ip
    who = check.peer_identity or "no identity (plaintext)"

    if check.component == "dst-ztunnel":
        assert ep is not None
        where = f"destination ztunnel {check.enforcer}"
        conn = Connection(src_ip, ep.ip, port, identity)
        z = view.authz_index.evaluate(ep.meta.namespace, ep.meta.labels, conn, waypoint=_waypoint_of(view, ep))
        reasons = [f"{where} evaluates L4 policy for {ep.meta.key}:{port}; the peer is {who}"]
        steps = [f"{where}: {st}" for st in z.trace if st.level == "match" and not st.matched][:6]
        zr = [f"{where}: {r}" for r in z.reasons]
        # clause by clause, why nothing matched (istio/ztunnel#1901), before the verdict line
        reasons += zr[:-1] + steps + zr[-1:] if not z.allowed else zr
        decided = dict(z.decided_by)
        if z.builtin and z.policy:
            decided = {"builtin": z.policy.rsplit("/", 1)[-1]}
        d = Decision(z.allowed, decided, reasons)
        key = z.policy or (z.decided_by.get("defaultDeny") or [None])[0]
        d.policy = _policy_doc(view, key, z.rule, "enforced by ztunnel")
        if d.policy and d.policy["notes"]:
            d.warnings += [f"{key}: {n}" for n in d.policy["notes"]]
        if not z.allowed:
            d.outcome = ("the CONNECT is answered 401 and " + RESET) if identity else (
                "ztunnel closes the plaintext connection: " + RESET)
            d.log = z.error or ""
        return d

    if check.component in ("waypoint", "sidecar"):
        if check.component == "waypoint":
            wp = check.waypoint
            assert wp is not None
            # Service/ServiceEntry targetRefs apply to requests for that service only (the waypoint's
            # per-service chain); pod-IP traffic to a workload waypoint sees Gateway/GatewayClass policies only.
            services = [("Service", tgt.service.meta.namespace, tgt.service.meta.name)] if (
                tgt.service is not None and tgt.addressed == "service") else []
            if tgt.entry is not None:  # egress: policies targeting the ServiceEntry
                services = [("ServiceEntry", tgt.entry.entry.meta.namespace, tgt.entry.entry.meta.name)]
            attached, notes = enforced_by_waypoint(view, wp, tuple(services), ep)
            pols = [a.policy for a in attached]
            where = f"waypoint {check.enforcer}"
        else:
            assert ep is not None
            pols = sidecar_policies(view, ep)
            notes = []
            where = f"sidecar of {check.enforcer}"
        r = AuthzRequest(src_ip, identity, ep.ip if ep else tgt.ip, port, req.method if http else "",
                         req.path if http else "", req.host if http else "", dict(req.headers))
        w = evaluate_request(pols, r)
        reasons = [f"{where} evaluates {'HTTP' if http else 'TCP'} policy; the peer is {who}"]
        reasons += [f"{where}: {x}" for x in w.reasons]
        d = Decision(w.allowed is not False, dict(w.decided_by), reasons, warnings=list(notes))
        if w.allowed is None:
            d.warnings.append(f"{w.policy} is CUSTOM: an external authorizer decides, so the verdict shown assumes "
                              "it allows")
        key = w.policy or (w.decided_by.get("defaultDeny") or [None])[0]
        d.policy = _policy_doc(view, key, w.rule, f"enforced by the {check.component}")
        agw = check.component == "waypoint" and check.waypoint is not None and \
            check.waypoint.gateway.class_name == AGENTGATEWAY_WAYPOINT_CLASS
        if agw:
            d.warnings.append(AGENTGATEWAY_EVIDENCE.format(wp=check.waypoint.key))
        if w.allowed is False:
            d.outcome = ("the client gets HTTP 403 with body 'RBAC: access denied'" if http else
                         f"the {check.component} closes the connection: " + RESET)
            d.log = f"response code {w.status}, details rbac_access_denied_matched_policy[{w.matched_policy}]"
            if agw:  # not Envoy: neither its 403 body nor its access-log details
                d.outcome = "the client gets HTTP 403" if http else f"the waypoint closes the connection: {RESET}"
                d.log = ""
        return d
    raise ValueError(check.component)
