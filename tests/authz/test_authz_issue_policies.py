"""Policies quoted in public GitHub issues (tests/realdata/github-issues/authz-policies-from-issues.yaml), each
with the outcome its thread reports, reproduced by translation + ztunnel evaluation for the reported version."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ambientctl.authz.evaluate import Connection, PolicyIndex
from ambientctl.authz.settings import AuthzSettings
from ambientctl.mesh.version import IstioVersion
from ambientctl.model import parse_object


@pytest.fixture(scope="module")
def issue_aps(realdata: Path) -> dict:
    path = realdata / "github-issues/authz-policies-from-issues.yaml"
    return {o.meta.key: o for o in (parse_object(d, f"{path.name}#{i}")
                                    for i, d in enumerate(yaml.safe_load_all(path.read_text())) if d)}


def _index(ap, version: str) -> PolicyIndex:
    return PolicyIndex.build([ap], [], AuthzSettings(version=IstioVersion.parse(version)))


def test_istio_55533_remote_ip_blocks_allow_denies(issue_aps) -> None:
    """istio/istio#55533 (1.23.3): ALLOW with ipBlocks + remoteIpBlocks on a selector ⇒ the rule has an HTTP
    attribute (remoteIpBlocks) ⇒ dropped ⇒ deny-all. Reported: denied (source is the ingress gateway pod IP)."""
    idx = _index(issue_aps["staging/unknown-name-in-issue"], "1.23")
    assert idx.translations["staging/unknown-name-in-issue"].effect == "deny-all"
    for src in ("10.42.0.7", "216.128.25.120"):  # even the listed address: the rule is gone
        d = idx.evaluate("staging", {"app": "backend-translation"}, Connection(src, "10.42.1.9", 8080, None))
        assert not d.allowed and d.error == "connection closed due to policy rejection"


def test_ztunnel_691_principal_and_port(issue_aps) -> None:
    """istio/ztunnel#691 (2023-09, 1.19 era): productpage allowed to :5000; ratings rejected (HBONE 401, logged
    `RBAC rejected` by ztunnel 1.19)."""
    idx = _index(issue_aps["helloworld/accesspolicy-helloworld-5000-ra-585c83aa589d92115710854631d1f2d"], "1.19")
    lbl = {"app": "helloworld"}
    pp = Connection("10.0.0.1", "10.0.0.9", 5000, "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage")
    ratings = Connection("10.0.0.2", "10.0.0.9", 5000, "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings")
    assert idx.evaluate("helloworld", lbl, pp).allowed
    d = idx.evaluate("helloworld", lbl, ratings)
    assert not d.allowed and d.error == "RBAC rejected"


def test_istio_44256_ingress_gateway_is_plaintext_in_ambient(issue_aps) -> None:
    """istio/istio#44256 (1.18 pre-release): the same ALLOW works in sidecar mode but denies in ambient — the ingress
    gateway pod was not in ambient (WDS `protocol: TCP`), so ztunnel saw a plaintext connection with no identity and
    the principal could never match; sleep (with identity) is allowed."""
    idx = _index(issue_aps["default/httpbin"], "1.18")
    lbl = {"app": "httpbin"}
    assert not idx.evaluate("default", lbl, Connection("10.240.1.4", "10.240.1.9", 8000, None)).allowed
    assert idx.evaluate("default", lbl, Connection("10.240.1.12", "10.240.1.9", 8000,
                                                   "spiffe://cluster.local/ns/sleep/sa/sleep")).allowed


def test_istio_45502_request_principals_without_waypoint(issue_aps) -> None:
    """istio/istio#45502 (1.18.0): requestPrincipals ALLOW on a workload without waypoint ⇒ the only rule is HTTP
    ⇒ dropped ⇒ every connection denied, even with a valid JWT (ztunnel never sees it)."""
    idx = _index(issue_aps["http-server/http-server"], "1.18")
    d = idx.evaluate("http-server", {"app.kubernetes.io/name": "http-server"},
                     Connection("10.0.0.1", "10.0.0.2", 8080, "spiffe://cluster.local/ns/default/sa/client"))
    assert not d.allowed and d.decided_by == {"defaultDeny": ["http-server/http-server"]}
