"""Every ztunnel error text listed in research/istio.md §2.6 (verbatim, variable parts filled with realistic
values) maps to a stable code; policy names are extracted where the text carries them."""

import pytest

from ambientctl.evidence.errors import RULES, classify_error

CASES = [
    ("connection closed due to policy rejection: explicitly denied by: default/deny-sleep", "policy-denied", "deny"),
    ("connection closed due to policy rejection: explicitly denied by: istio-system/istio_converted_static_strict",
     "policy-denied", "deny"),
    ("connection closed due to policy rejection: allow policies exist, but none allowed", "policy-not-allowed", "deny"),
    ("connection closed due to policy rejection: workload not found", "policy-workload-not-found", "deny"),
    ("connection closed due to policy rejection: workload mismatch", "policy-workload-mismatch", "deny"),
    ("connection closed due to policy change", "policy-changed", "deny"),
    ("connection closed due to policy rejection", "policy-rejected", "deny"),
    ("no healthy upstream: 10.43.0.1:443", "no-healthy-upstream", "failed"),
    ("unknown waypoint: waypoint default/waypoint.default.svc.cluster.local not found", "unknown-waypoint", "failed"),
    ("unknown waypoint: waypoint GatewayAddress{destination: Address(NetworkAddress{network: \"\", address: "
     "10.96.1.1}), hbone_mtls_port: 15008} not found", "unknown-waypoint", "failed"),
    ("unknown network gateway: network2", "unknown-network-gateway", "failed"),
    ("no valid routing destination for workload: Kubernetes//Pod/a/b", "no-routing-destination", "failed"),
    ("no gateway address: network2", "no-gateway-address", "failed"),
    ("no service for target address: 10.96.0.99:80", "no-service-for-address", "failed"),
    ("no service or workload for hostname: remote.default.svc.cluster.local", "no-service-or-workload", "failed"),
    ("no endpoints for workload: Kubernetes//Pod/a/b", "no-endpoints", "failed"),
    ("requested service productpage.default.svc.cluster.local:9081 found, but cannot resolve port",
     "service-port-unresolved", "failed"),
    ("requested service productpage.default.svc.cluster.local found, but has no IP addresses", "service-no-ips",
     "failed"),
    ("no ip addresses were resolved for workload: Kubernetes//Pod/a/b", "workload-no-ips", "failed"),
    ("failed to fetch information about local workload: sleep.default (sleep-7656cf8794-lxcmx)",
     "local-workload-unknown", "failed"),
    ("attempted recursive call to ourselves", "recursive-call", "failed"),
    ("unsupported feature: proxy protocol", "unsupported-feature", "failed"),
    ("connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008: deadline has elapsed",
     "network-policy-15008", "failed"),
    ("io error: Connection refused (os error 111)", "connection-refused", "failed"),
    ("io error: deadline has elapsed", "io-timeout", "failed"),
    ("connection failed: io error: Connection reset by peer (os error 104)", "upstream-connect-failed", "failed"),
    ("destination disconnected before all data was written", "destination-disconnected", "failed"),
    ("client disconnected before all data was written", "client-disconnected", "failed"),
    ("http2 handshake failed: connection closed", "h2-handshake-failed", "failed"),
    ("h2 failed: connection error detected: frame with invalid size", "h2-failed", "failed"),
    ("http status: 401 Unauthorized", "hbone-status-401", "deny"),
    ("http status: 503 Service Unavailable", "hbone-status-503", "failed"),
    ("http status: 400 Bad Request", "hbone-status-400", "failed"),
    ("http status: 502 Bad Gateway", "hbone-status", "failed"),
    ("pool draining", "pool-draining", "failed"),
    ("connection closed due to connection drain", "drained", "failed"),
    ("connection failed to drain within the timeout", "drain-timeout", "failed"),
    ("tls error: invalid peer certificate: UnknownIssuer", "tls-unknown-issuer", "failed"),
    ("tls handshake error: received fatal alert: BadCertificate", "tls-handshake-error", "failed"),
    ("tls error: invalid peer certificate: BadSignature", "tls-bad-signature", "failed"),
    ("tls error: peer closed connection without sending TLS close_notify", "tls-error", "failed"),
    ("identity verification error: peer did not present the expected SAN ([\"spiffe://cluster.local/ns/default/sa/"
     "bookinfo-productpage\"]), got [\"spiffe://cluster.local/ns/default/sa/sleep\"]", "identity-san-mismatch",
     "failed"),
    ("identity verification error: peer did not present the expected trustdomain (cluster.local), got "
     "[\"spiffe://other.td/ns/a/sa/b\"]", "identity-trustdomain-mismatch", "failed"),
    ("identity error: signing gRPC error (Unauthenticated): request impersonation authentication failure",
     "ca-impersonation-denied", "failed"),
    ("identity error: signing gRPC error (The service is currently unavailable): error trying to connect",
     "ca-signing-error", "failed"),
    ("identity error: chain returned from CA is empty for: spiffe://cluster.local/ns/a/sa/b", "ca-empty-chain",
     "failed"),
    ("identity error: did not find expected SAN: spiffe://cluster.local/ns/a/sa/b", "identity-error", "failed"),
    ("workload is unknown: spiffe://cluster.local/ns/a/sa/b", "identity-error", "failed"),
    ("expected method CONNECT, got GET", "hbone-bad-method", "failed"),
    ("invalid CONNECT address productpage", "hbone-bad-address", "failed"),
    ("no valid authority pseudo header: missing", "hbone-no-authority", "failed"),
    ("ip mismatch: 10.244.1.9 != 10.244.1.10", "hbone-ip-mismatch", "failed"),
    ("connection closed: peer certificate revoked by CRL", "cert-revoked", "failed"),
    ("unknown source: 10.244.9.9", "unknown-source", "failed"),
    ("no valid service port in authority header: productpage:1234", "no-service-port", "failed"),
    ("dns lookup: no record", "dns-error", "failed"),
]


@pytest.mark.parametrize("text,code,verdict", CASES)
def test_each_error_text_has_its_code(text, code, verdict):
    info = classify_error(text)
    assert (info.code, info.verdict) == (code, verdict)
    assert info.meaning and info.next_step and info.text == text


def test_policy_name_is_extracted():
    info = classify_error('"connection closed due to policy rejection: explicitly denied by: default/deny-sleep"')
    assert info.policy == "default/deny-sleep" and info.where == "dst-ztunnel" and info.http_status == 401
    assert "1.24" in info.versions_note
    strict = classify_error("connection closed due to policy rejection: explicitly denied by: "
                            "istio-system/istio_converted_static_strict")
    assert strict.policy == "istio-system/istio_converted_static_strict"
    old = classify_error("connection closed due to policy rejection")
    assert old.policy == "" and "before Istio 1.24" in old.versions_note


def test_status_codes_and_flags():
    assert classify_error("http status: 502 Bad Gateway").http_status == 502
    assert classify_error("connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008: x").flag == \
        "NETWORK_POLICY"


def test_unknown_text_is_unknown_not_an_exception():
    for t in ("", "something new in ztunnel 2.0", "\x00"):
        assert classify_error(t).code == "unknown"


def test_codes_are_unique():
    codes = [r.code for r in RULES]
    assert len(codes) == len(set(codes))
