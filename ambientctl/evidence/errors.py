"""ztunnel error strings -> a stable code, what it means, and what to look at next.

The texts are the `Display` strings of ztunnel's errors (`src/proxy.rs`, `src/tls/lib.rs`, `src/identity.rs`,
`src/state.rs`; research/istio.md §2.6), matched by their fixed parts so the variable parts (addresses, policy
names, gRPC messages) do not matter. Where the text changed between versions the rule says so (`since`/`until`),
and `versions_note` tells the reader which era the wording proves. Codes are part of the JSON contract: never
rename one, add new ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ErrorInfo:
    code: str
    category: str  # policy | routing | transport | tls | identity | hbone | legacy | unknown
    meaning: str
    next_step: str
    text: str  # the error text as logged
    verdict: str = "failed"  # deny (a policy said no) | failed (it broke)
    where: str = ""  # dst-ztunnel | src-ztunnel | waypoint: the component that decided or failed
    policy: str = ""  # ns/name when the text names the deciding policy
    http_status: int | None = None  # the HBONE response status it implies/reports
    flag: str = ""  # the `response_flags` metric label ztunnel uses for it (1.29+ names)
    versions_note: str = ""
    details: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"code": self.code, "category": self.category, "verdict": self.verdict,
                             "meaning": self.meaning, "nextStep": self.next_step, "text": self.text}
        for k, v in (("where", self.where), ("policy", self.policy), ("httpStatus", self.http_status),
                     ("flag", self.flag), ("versions", self.versions_note), ("details", self.details)):
            if v:
                d[k] = v
        return d


@dataclass(frozen=True)
class _Rule:
    code: str
    pattern: re.Pattern[str]
    category: str
    meaning: str
    next_step: str
    verdict: str = "failed"
    where: str = ""
    http_status: int | None = None
    flag: str = ""
    versions_note: str = ""


def _r(code: str, pattern: str, category: str, meaning: str, next_step: str, **kw: Any) -> _Rule:
    return _Rule(code, re.compile(pattern, re.IGNORECASE | re.DOTALL), category, meaning, next_step, **kw)


_POLICY_NEXT = ("read the policy with `kubectl get authorizationpolicy -n <ns> <name> -o yaml`, then "
                "`ambientctl explain SRC DST` to see which rule matched")

# Order matters: the first match wins, so specific texts come before their generic prefixes.
RULES: tuple[_Rule, ...] = (
    # -- authorization (destination ztunnel; HBONE -> 401, plaintext -> closed; metric flag DENY) --------------
    _r("policy-denied", r"connection closed due to policy rejection: explicitly denied by: (?P<policy>\S+)",
       "policy", "a DENY AuthorizationPolicy matched this connection at the destination ztunnel",
       _POLICY_NEXT + "; a policy named istio_converted_static_strict or converted_peer_authentication_* is "
       "PeerAuthentication STRICT refusing a plaintext caller", verdict="deny", where="dst-ztunnel",
       http_status=401, flag="DENY", versions_note="policy name in the text since Istio 1.24 (ztunnel #1273)"),
    _r("policy-not-allowed", r"connection closed due to policy rejection: allow policies exist, but none allowed",
       "policy", "ALLOW policies select the destination and none of their rules matched this caller (remember: "
       "ztunnel drops ALLOW rules with L7 fields, and sees the waypoint's identity behind a waypoint)",
       "list the ALLOW policies selecting the destination (`ambientctl describe pod DST`) and compare their "
       "principals/namespaces/ports/ipBlocks with the caller's identity and address", verdict="deny",
       where="dst-ztunnel", http_status=401, flag="DENY", versions_note="wording since Istio 1.24"),
    _r("policy-workload-not-found", r"connection closed due to policy rejection: workload not found", "policy",
       "ztunnel could not find the destination workload while evaluating policy", "check the destination pod is "
       "in ztunnel's config (`ambientctl` config_dump drift, or `istioctl zc workloads`)", verdict="deny",
       where="dst-ztunnel", http_status=401, flag="DENY", versions_note="Istio 1.24+"),
    _r("policy-workload-mismatch", r"connection closed due to policy rejection: workload mismatch", "policy",
       "the connection's destination does not belong to the workload ztunnel evaluated policy for",
       "look for a stale pod IP in ztunnel's config (config_dump drift)", verdict="deny", where="dst-ztunnel",
       http_status=401, flag="DENY", versions_note="Istio 1.24+"),
    _r("policy-rejected", r"connection closed due to policy rejection\s*$", "policy",
       "an AuthorizationPolicy at the destination ztunnel refused this connection (this version does not say "
       "which: DENY match or no ALLOW match)", "enable AUTHZ decision logs (debug level on target `state`) or run "
       "`ambientctl explain SRC DST` to find the deciding policy", verdict="deny", where="dst-ztunnel",
       http_status=401, flag="DENY", versions_note="wording before Istio 1.24 (1.22, 1.23)"),
    _r("policy-changed", r"connection closed due to policy change", "policy",
       "an established connection was closed because a policy update now denies it", "see which "
       "AuthorizationPolicy changed just before; `ambientctl explain` with the current state shows the verdict",
       verdict="deny", where="dst-ztunnel", flag="DENY"),
    _r("cert-revoked-upstream", r"upstream certificate revoked by CRL", "tls", "a CRL update revoked the "
       "destination's certificate and the source ztunnel tore down its HBONE connection (and every stream on it)",
       "reissue the destination's certificate or fix the CRL", where="src-ztunnel", flag="CERT_REVOKED",
       versions_note="Istio 1.31+ (existing connections checked on CRL update)"),
    _r("cert-revoked", r"peer certificate revoked by CRL", "tls", "the peer's certificate is on the CRL "
       "ztunnel enforces (CRL_PATH); from 1.31 a CRL update also closes connections already open",
       "reissue the peer's certificate or fix the CRL", where="dst-ztunnel",
       flag="CERT_REVOKED", versions_note="Istio 1.31+"),
    # -- transport ----------------------------------------------------------------------------------------
    _r("network-policy-15008", r"connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008",
       "transport", "the HBONE connection to port 15008 was never answered: usually a NetworkPolicy (or cloud "
       "firewall) that allows the app port but not 15008", "allow TCP 15008 between the pods in every "
       "NetworkPolicy that selects the destination (`kubectl get networkpolicy -n <dst ns>`)", where="src-ztunnel",
       flag="NETWORK_POLICY", versions_note="Istio 1.23+ (ztunnel #1229); older versions log `deadline has elapsed`"),
    _r("connection-refused", r"Connection refused", "transport", "nothing accepted the TCP connection: on an "
       "inbound leg the application is not listening on the target port", "check the container port and that "
       "the app listens on the pod IP (not only 127.0.0.1); `kubectl get endpoints`", where="dst-ztunnel",
       flag="CONNECT"),
    _r("upstream-connect-failed", r"^connection failed: ", "transport", "the destination ztunnel could not "
       "connect to the application (the HBONE stream got 503)", "check the application pod is running and "
       "listening on the target port", where="dst-ztunnel", http_status=503, flag="CONNECT"),
    _r("io-timeout", r"deadline has elapsed", "transport", "a connect or read timed out (before 1.23 this is also "
       "how a NetworkPolicy blocking 15008 looked)", "check NetworkPolicies for port 15008 and that the peer pod "
       "is up", flag="CONNECT"),
    _r("destination-disconnected", r"destination disconnected before all data was written", "transport",
       "the server side closed while data was still being copied", "usually the application closed or reset the "
       "connection; check its logs", flag="CONNECT"),
    _r("client-disconnected", r"client disconnected before all data was written", "transport",
       "the client side closed while data was still being copied", "usually the client gave up (timeout or "
       "cancel); check the client", flag="CONNECT"),
    _r("h2-handshake-failed", r"http2 handshake failed", "hbone", "the HTTP/2 handshake inside the mTLS "
       "connection failed", "the peer on 15008 is not a ztunnel/waypoint speaking HBONE (a sidecar or another "
       "proxy?)", flag="H2_HANDSHAKE_FAILURE"),
    _r("h2-failed", r"h2 failed|Error in HBONE connection handshake", "hbone", "the HTTP/2 connection carrying "
       "HBONE broke (e.g. FRAME_SIZE_ERROR: the peer is not speaking HBONE as ztunnel expects)",
       "check what listens on the destination's port 15008 (a sidecar proxy answering HBONE?)", flag="CONNECT"),
    _r("hbone-status-401", r"http status: 401", "policy", "the destination ztunnel answered the HBONE CONNECT "
       "with 401: its authorization policy refused the connection (or, 1.18-1.21, the caller bypassed the "
       "waypoint)", "read the destination ztunnel's log for the same time: it names the reason",
       verdict="deny", where="dst-ztunnel", http_status=401, flag="DENY"),
    _r("hbone-status-503", r"http status: 503", "transport", "the destination ztunnel answered 503: it could not "
       "reach the application, or did not know the local workload/port", "read the destination ztunnel's log; "
       "check the pod is ready and listening on the target port", where="dst-ztunnel", http_status=503,
       flag="CONNECT"),
    _r("hbone-status-400", r"http status: 400", "hbone", "the destination answered 400: bad CONNECT request "
       "(wrong method, bad authority, or the target IP is not the pod the connection reached)", "look for `ip "
       "mismatch` on the destination ztunnel; a stale pod IP in the source ztunnel's config",
       where="dst-ztunnel", http_status=400, flag="CONNECT"),
    _r("hbone-status", r"http status: (?P<status>\d+)", "hbone", "the peer answered the HBONE CONNECT with a "
       "non-200 status", "read the peer's log for the same time", flag="CONNECT"),
    _r("pool-draining", r"pool draining", "transport", "the connection pool was shutting down", "transient "
       "during ztunnel restarts; retry", flag="CONNECT"),
    _r("drain-timeout", r"connection failed to drain within the timeout", "transport", "ztunnel was stopping "
       "and the connection did not finish in time", "transient during ztunnel restarts/upgrades", flag="CONNECT"),
    _r("drained", r"connection closed due to connection drain", "transport", "ztunnel closed the connection "
       "while draining (restart, pod removal)", "transient during ztunnel restarts/upgrades", flag="CONNECT"),
    # -- TLS / identity --------------------------------------------------------------------------------------
    _r("identity-san-mismatch", r"peer did not present the expected SAN", "tls", "the peer's certificate is for "
       "another identity than the one ztunnel expected for this destination", "a stale pod IP (the IP now "
       "belongs to another pod) or a waypoint/service SAN mismatch; compare config_dump with the cluster",
       flag="TLS_FAILURE"),
    _r("identity-trustdomain-mismatch", r"peer did not present the expected trustdomain", "tls",
       "the peer's certificate is from another trust domain", "check meshConfig.trustDomain on both sides",
       flag="TLS_FAILURE"),
    _r("tls-unknown-issuer", r"UnknownIssuer", "tls", "the peer's certificate is not signed by a root this "
       "ztunnel trusts", "root CA rotation or a plugged-in CA not distributed everywhere; check ztunnel "
       "certificates (config_dump certificates)", flag="TLS_FAILURE"),
    _r("tls-bad-signature", r"BadSignature", "tls", "the peer's certificate signature does not verify",
       "mismatched intermediate/root; check the CA chain", flag="TLS_FAILURE"),
    _r("tls-handshake-error", r"tls handshake error", "tls", "the mTLS handshake failed", "check both sides' "
       "certificates (config_dump certificates) and that the peer speaks mTLS on 15008", flag="TLS_FAILURE"),
    _r("tls-error", r"tls error", "tls", "a TLS error on the HBONE connection", "check ztunnel certificates "
       "(config_dump certificates)", flag="TLS_FAILURE"),
    _r("ca-impersonation-denied", r"impersonation", "identity", "istiod's CA refused to sign a certificate for a "
       "workload identity on behalf of this ztunnel", "istiod needs CA_TRUSTED_NODE_ACCOUNTS=istio-system/ztunnel "
       "and a pod with that service account on the ztunnel's node", flag="IDENTITY_ERROR"),
    _r("ca-signing-error", r"signing gRPC error", "identity", "ztunnel could not get a certificate from the CA",
       "check istiod is reachable on 15012 from the node and its logs", flag="IDENTITY_ERROR"),
    _r("ca-empty-chain", r"chain returned from CA is empty", "identity", "the CA returned no certificate",
       "check the CA (istiod or external) logs", flag="IDENTITY_ERROR"),
    _r("identity-error", r"identity error|did not find expected SAN|workload is unknown", "identity",
       "ztunnel has no usable certificate for an identity it needs", "check config_dump certificates for state "
       "other than Available", flag="IDENTITY_ERROR"),
    # -- routing / resolution (source ztunnel, mostly `connection failed`) ------------------------------------
    _r("no-healthy-upstream", r"no healthy upstream", "routing", "the Service has no (healthy) endpoints in "
       "ztunnel's view", "`kubectl get endpointslices -l kubernetes.io/service-name=<svc>`; are the pods ready?",
       where="src-ztunnel", flag="CONNECT", versions_note="Istio 1.23+"),
    _r("unknown-waypoint", r"unknown waypoint", "routing", "the destination is bound to a waypoint ztunnel cannot "
       "find, so it fails closed", "check the waypoint Gateway exists, is Programmed and has an address "
       "(`istioctl waypoint status`)", where="src-ztunnel", flag="CONNECT"),
    _r("unknown-network-gateway", r"unknown network gateway", "routing", "the destination is on another network "
       "and its east-west gateway is unknown", "check the east-west gateway and network labels",
       where="src-ztunnel", flag="CONNECT"),
    _r("no-routing-destination", r"no valid routing destination for workload", "routing", "ztunnel has no way to "
       "reach this workload", "check the workload's addresses and network in config_dump", where="src-ztunnel",
       flag="CONNECT"),
    _r("no-gateway-address", r"no gateway address", "routing", "no usable address for the network gateway",
       "check the east-west gateway Service", where="src-ztunnel", flag="CONNECT"),
    _r("no-service-for-address", r"no service for target address", "routing", "the target address is no known "
       "service VIP", "check the Service VIP and that ztunnel has it (config_dump services)", where="src-ztunnel",
       flag="CONNECT"),
    _r("no-service-or-workload", r"no service or workload for hostname", "routing", "the CONNECT authority names a "
       "hostname ztunnel does not know", "check the Service/ServiceEntry hostname", flag="CONNECT"),
    _r("no-endpoints", r"no endpoints for workload", "routing", "the workload has no endpoints", "check the "
       "Service selects ready pods", flag="CONNECT"),
    _r("service-port-unresolved", r"found, but cannot resolve port", "routing", "the Service exists but the port "
       "cannot be mapped to a target port", "check the Service port / named targetPort against the pod's "
       "container ports", flag="CONNECT"),
    _r("service-no-ips", r"found, but has no IP addresses", "routing", "the Service has no IP address",
       "check the Service/ServiceEntry addresses", flag="CONNECT"),
    _r("workload-no-ips", r"no ip addresses were resolved for workload", "routing", "the workload has no IP",
       "check the pod/WorkloadEntry address", flag="CONNECT"),
    _r("no-service-port", r"no valid service port in authority header", "hbone", "the CONNECT authority's port is "
       "no port of the service", "check the Service ports", http_status=503, flag="CONNECT"),
    _r("no-target-port", r"no valid target port for workload", "hbone", "no target port for this workload",
       "check the Service targetPort and the pod's ports", http_status=503, flag="CONNECT"),
    _r("local-workload-unknown", r"failed to fetch information about local workload", "routing", "the source pod "
       "is not (yet) in ztunnel's config: it started before istiod pushed it", "wait and retry; if it persists "
       "compare config_dump with the cluster (missing workload)", where="src-ztunnel", flag="CONNECT"),
    _r("recursive-call", r"attempted recursive call to ourselves", "routing", "the destination is one of "
       "ztunnel's own ports (15001/15006/15008/15053)", "do not send traffic to ztunnel ports directly",
       flag="CONNECT"),
    _r("unsupported-feature", r"unsupported feature", "routing", "a configuration ztunnel does not support",
       "read the feature named in the text", flag="CONNECT"),
    _r("unknown-source", r"unknown source", "routing", "ztunnel does not know the source workload",
       "the source pod is missing from ztunnel's config (config_dump drift)", flag="CONNECT"),
    # -- HBONE server-side request validation (-> 400) -------------------------------------------------------
    _r("hbone-bad-method", r"expected method CONNECT", "hbone", "something sent a non-CONNECT request to port "
       "15008", "only ztunnels/waypoints should talk to 15008", where="dst-ztunnel", http_status=400),
    _r("hbone-bad-address", r"invalid CONNECT address", "hbone", "the CONNECT authority is not an address",
       "check the caller's HBONE implementation", where="dst-ztunnel", http_status=400),
    _r("hbone-no-authority", r"no valid authority pseudo header", "hbone", "the CONNECT has no usable authority",
       "check the caller's HBONE implementation", where="dst-ztunnel", http_status=400),
    _r("hbone-ip-mismatch", r"ip mismatch", "hbone", "the CONNECT target IP is not the pod this connection "
       "reached: the caller's ztunnel has a stale IP for the destination", "compare the source ztunnel's "
       "config_dump with the cluster (stale workload IP)", where="dst-ztunnel", http_status=400),
    _r("dns-error", r"^dns", "routing", "DNS proxy lookup failed", "check the DNS name and CoreDNS"),
    # -- generic io last -----------------------------------------------------------------------------------
    _r("io-error", r"io error", "transport", "an I/O error on the connection", "read the text after `io error:`",
       flag="CONNECT"),
)

# ≤1.21 free-text decisions, classified the same way so tickets from old clusters read alike.
LEGACY: dict[str, ErrorInfo] = {
    "rbac-rejected": ErrorInfo(
        "legacy-rbac-rejected", "policy", "an AuthorizationPolicy at the destination ztunnel refused the "
        "connection (Istio 1.18-1.21 log; the client sees a reset or HBONE 401)",
        "run `ambientctl explain SRC DST --istio-version 1.21` to find the deciding policy", "RBAC rejected",
        verdict="deny", where="dst-ztunnel", http_status=401, versions_note="Istio 1.18-1.21"),
    "bypassed-waypoint": ErrorInfo(
        "legacy-bypassed-waypoint", "policy", "the destination has a waypoint and this HBONE connection did not "
        "come from it: ztunnel refuses callers that bypass the waypoint (401)", "the caller addressed the pod "
        "directly or its ztunnel did not know the waypoint; check the waypoint binding in both ztunnels' "
        "config_dump", "bypassed waypoint", verdict="deny", where="dst-ztunnel", http_status=401,
        versions_note="Istio 1.18-1.21 (removed in 1.22)"),
    "unknown-destination": ErrorInfo(
        "legacy-unknown-destination", "routing", "the destination ztunnel does not know the target workload (404)",
        "compare the destination ztunnel's config_dump with the cluster", "unknown destination",
        where="dst-ztunnel", http_status=404, versions_note="Istio 1.18-1.21"),
}


def classify_error(text: str) -> ErrorInfo:
    """The classification of one error text; `unknown` (never an exception) for texts no rule knows."""
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] == '"':
        t = t[1:-1]
    for rule in RULES:
        m = rule.pattern.search(t)
        if m is None:
            continue
        groups = {k: v for k, v in m.groupdict().items() if v}
        info = ErrorInfo(rule.code, rule.category, rule.meaning, rule.next_step, t, verdict=rule.verdict,
                         where=rule.where, http_status=rule.http_status, flag=rule.flag,
                         versions_note=rule.versions_note)
        if "policy" in groups:
            info.policy = groups["policy"].rstrip(".,;")
        if "status" in groups:
            info.http_status = int(groups["status"])
        return info
    return ErrorInfo("unknown", "unknown", "an error ambientctl does not recognise", "read the text; search the "
                     "ztunnel source (src/proxy.rs) for it", t)


def legacy_decision(decision: str, text: str) -> ErrorInfo | None:
    base = LEGACY.get(decision)
    if base is None:
        return None
    return ErrorInfo(base.code, base.category, base.meaning, base.next_step, text, verdict=base.verdict,
                     where=base.where, http_status=base.http_status, versions_note=base.versions_note)
