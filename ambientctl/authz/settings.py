"""The istiod settings and mesh config values that change authorization behaviour, and the version gates.

Read from one flat mapping the mesh layer builds (istiod Deployment env + mesh config), so authz never does I/O.
Versions are `ambientctl.mesh.version.IstioVersion`; every behaviour that changed across releases asks one of the
small functions below, each citing where the change happened (istio/istio tags inspected with `git show <tag>:…`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ambientctl.mesh.version import DEFAULT, IstioVersion

AUTO_ALLOW_WAYPOINT = "PILOT_AUTO_ALLOW_WAYPOINT_POLICY"
DRY_RUN = "AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY"
LAYERED_WAYPOINT = "ENABLE_LAYERED_WAYPOINT_AUTHORIZATION_POLICIES"

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}  # Go strconv.ParseBool, which istiod's env.Register uses


def go_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip() in _TRUE


@dataclass(frozen=True, slots=True)
class AuthzSettings:
    """Defaults are istiod's with ambient enabled (`pilot/pkg/features/ambient.go` @86c9f01f)."""

    version: IstioVersion = DEFAULT
    root_namespace: str = "istio-system"  # meshConfig.rootNamespace
    trust_domain: str = "cluster.local"  # meshConfig.trustDomain
    dry_run_enabled: bool = False  # AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY (1.29+)
    auto_allow_waypoint: bool = False  # PILOT_AUTO_ALLOW_WAYPOINT_POLICY (1.23+)
    layered_waypoint: bool = False  # ENABLE_LAYERED_WAYPOINT_AUTHORIZATION_POLICIES (1.26+)
    ztunnel_version: IstioVersion | None = None  # the ztunnels' own version when it differs (None: same as istiod)

    @classmethod
    def from_mapping(cls, values: dict[str, Any] | None, version: IstioVersion = DEFAULT) -> AuthzSettings:
        """`values`: istiod env names as keys, plus `rootNamespace` / `trustDomain` from mesh config."""
        v = values or {}
        return cls(
            version=version,
            root_namespace=str(v.get("rootNamespace") or "istio-system"),
            trust_domain=str(v.get("trustDomain") or "cluster.local"),
            dry_run_enabled=go_bool(v.get(DRY_RUN, False)),
            auto_allow_waypoint=go_bool(v.get(AUTO_ALLOW_WAYPOINT, False)),
            layered_waypoint=go_bool(v.get(LAYERED_WAYPOINT, False)),
            ztunnel_version=v.get("ztunnelVersion") if isinstance(v.get("ztunnelVersion"), IstioVersion) else None,
        )


# --- version gates -------------------------------------------------------------------------------------------

def _ge(v: IstioVersion, major: int, minor: int, patch: int = 0) -> bool:
    return not v.experimental and (v.major, v.minor, v.patch) >= (major, minor, patch)


def ztunnel_skips_target_refs(v: IstioVersion) -> bool:
    """1.22+: `convertAuthorizationPolicy` returns nothing for targetRef policies. 1.18–1.21
    (`kube/controller/ambientindex.go`, `kube/controller/authorization.go`) never looked at targetRef, so a
    targetRef policy went to ztunnel too, scoped by its selector (or its namespace)."""
    return _ge(v, 1, 22)


def writes_ztunnel_status(v: IstioVersion) -> bool:
    """1.24+: the ZtunnelAccepted condition (UnsupportedValue messages); 1.22/1.23 rejected silently."""
    return _ge(v, 1, 24)


def translates_service_accounts(v: IstioVersion) -> bool:
    """`from.source.serviceAccounts` exists from 1.25 (`stringToServiceAccountMatch`, absent in 1.24.0)."""
    return _ge(v, 1, 25)


def dry_run_handling(v: IstioVersion) -> str:
    """What istiod does with an `istio.io/dry-run: "true"` policy for ztunnel:
    'enforce'  — < 1.25.2: the annotation is ignored, ztunnel enforces the policy for real;
    'skip'     — 1.25.2–1.28: not sent, no status (istio/istio#55414, backported as #55709 into 1.25.2);
    'setting'  — 1.29+: sent with dryRun=true only if AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY, else not sent
                 with an UnsupportedValue status (istio/istio#58657; ztunnel 1.29 `dry run auth` #1659)."""
    if _ge(v, 1, 29):
        return "setting"
    if _ge(v, 1, 25, 2):
        return "skip"
    return "enforce"


def ztunnel_honours_dry_run(zv: IstioVersion) -> bool:
    """The `dry_run` field of ztunnel's Authorization proto exists from ztunnel 1.29 (istio/ztunnel#1659, absent from
    `proto/authorization.proto` at 1.28.0): an older ztunnel drops the unknown field and ENFORCES the policy."""
    return _ge(zv, 1, 29)


def ztunnel_error_has_reason(v: IstioVersion) -> bool:
    """ztunnel 1.24+ appends `: explicitly denied by: ns/name` / `: allow policies exist, but none allowed`
    (istio/ztunnel#1273); 1.22/1.23 say only `connection closed due to policy rejection`."""
    return _ge(v, 1, 24)


def ztunnel_legacy_log(v: IstioVersion) -> bool:
    """1.18–1.21 ztunnel logs `RBAC rejected` with `conn=<src>(<identity>)-><dst>` (src/proxy/inbound.rs)."""
    return not v.experimental and not _ge(v, 1, 22)


def waypoint_uses_own_selector(v: IstioVersion) -> bool:
    """1.18–1.21: waypoints built RBAC like any proxy from their *own* pod labels and namespace
    (`plugin/authz/authorization.go` ListAuthorizationPolicies(proxy.ConfigNamespace, proxy.Labels)): namespace-wide
    policies of the waypoint's namespace and the root namespace, and selector policies selecting the waypoint pod
    (ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY defaults true). 1.22+: `WorkloadPolicyMatcher` for waypoints takes
    targetRefs only ("waypoints never use selector")."""
    return not v.experimental and not _ge(v, 1, 22)


def waypoint_honours_target_refs(v: IstioVersion) -> bool:
    """targetRef on AuthorizationPolicy is read by istiod from 1.20 (`model/policyattachment.go`)."""
    return _ge(v, 1, 20)


def has_auto_allow_waypoint(v: IstioVersion) -> bool:
    return _ge(v, 1, 23)


def has_dry_run_setting(v: IstioVersion) -> bool:
    return _ge(v, 1, 29)


def has_layered_waypoint(v: IstioVersion) -> bool:
    return _ge(v, 1, 26)


VERSION_GATES = {
    "targetRef policies not sent to ztunnel": "1.22+",
    "ZtunnelAccepted status messages": "1.24+",
    "serviceAccounts source field": "1.25+",
    "dry-run policies enforced at ztunnel (annotation ignored)": "< 1.25.2",
    "dry-run policies not sent to ztunnel": "1.25.2 - 1.28",
    "dry-run sent as dryRun when AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY": "1.29+",
    "dryRun policies enforced by a ztunnel older than 1.29 (version skew)": "istiod 1.29+, ztunnel < 1.29",
    "ztunnel error names the reason and policy": "1.24+",
    "waypoint applies its own namespace/selector policies": "1.18 - 1.21",
    "waypoint applies targetRef Gateway policies": "1.20+",
    "waypoint applies targetRef Service/ServiceEntry/GatewayClass only (never selector)": "1.22+",
    "PILOT_AUTO_ALLOW_WAYPOINT_POLICY": "1.23+",
    "ENABLE_LAYERED_WAYPOINT_AUTHORIZATION_POLICIES": "1.26+",
}
