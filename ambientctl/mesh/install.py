"""What the Istio installation itself tells us: version (from image tags), root namespace and trust domain (mesh
config), istiod feature settings (its Deployment env), and which ztunnel pod serves each node.

istiod's settings change verdicts (e.g. PILOT_AUTO_ALLOW_WAYPOINT_POLICY adds an ALLOW policy), so they are read
from the Deployment rather than assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from ambientctl.mesh.version import DEFAULT, IstioVersion
from ambientctl.model import Cluster
from ambientctl.model import objects as o

# istiod env settings that change ambient behaviour, with their defaults when unset (research/istio.md §4).
ISTIOD_SETTINGS = {
    "PILOT_AUTO_ALLOW_WAYPOINT_POLICY": "false",
    "AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY": "false",
    "ENABLE_LAYERED_WAYPOINT_AUTHORIZATION_POLICIES": "false",
    "ENABLE_INGRESS_WAYPOINT_ROUTING": "true",
    "PILOT_ENABLE_AMBIENT": "true",
}


@dataclass
class IstioInstall:
    version: IstioVersion
    version_source: str  # "istiod image docker.io/istio/pilot:1.28.0", "--istio-version", "assumed"
    root_namespace: str = "istio-system"
    trust_domain: str = "cluster.local"
    settings: dict[str, str] = field(default_factory=dict)
    istiod: list[o.Pod] = field(default_factory=list)
    ztunnels: dict[str, o.Pod] = field(default_factory=dict)  # node name -> ztunnel pod
    ztunnel_images: list[str] = field(default_factory=list)
    mesh_config: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # The ztunnels' own version (their DaemonSet image) when it differs from istiod's: ztunnel and istiod are
    # upgraded separately, and an old ztunnel ignores what it does not know (research/istio-2026.md §3 (c)).
    ztunnel_version: IstioVersion | None = None
    ztunnel_version_source: str = ""
    # istio-cni's settings: ConfigMap istio-cni-config (chart `configmap-cni.yaml`) over the DaemonSet's env.
    cni_settings: dict[str, str] = field(default_factory=dict)

    @property
    def ztunnel(self) -> IstioVersion:
        """The version whose behaviour the ztunnels follow (istiod's unless their own image says otherwise)."""
        return self.ztunnel_version or self.version

    def setting(self, name: str) -> bool:
        return self.settings.get(name, ISTIOD_SETTINGS.get(name, "false")).lower() == "true"


def _is_istiod(c: o.Controller) -> bool:
    return c.kind == "Deployment" and (
        c.template_labels.get("app") == "istiod" or c.meta.name.startswith("istiod") or c.meta.name == "istio-pilot"
    )


def _is_ztunnel(c: o.Controller) -> bool:
    return c.kind == "DaemonSet" and (c.template_labels.get("app") == "ztunnel" or c.meta.name == "ztunnel")


def is_ztunnel_pod(p: o.Pod) -> bool:
    return p.meta.labels.get("app") == "ztunnel" or (p.owner_kind == "DaemonSet" and p.owner_name == "ztunnel")


def detect(cluster: Cluster, override: str | None = None) -> IstioInstall:
    istiod_ctrls = [c for c in cluster.controllers if _is_istiod(c)]
    ztunnel_ctrls = [c for c in cluster.controllers if _is_ztunnel(c)]
    install = IstioInstall(version=DEFAULT, version_source="assumed")

    # Version: --istio-version wins; else istiod's image, else ztunnel's.
    images = [(f"istiod image {ct.image}", ct.image) for c in istiod_ctrls for ct in c.containers]
    images += [(f"ztunnel image {ct.image}", ct.image) for c in ztunnel_ctrls for ct in c.containers]
    install.ztunnel_images = [ct.image for c in ztunnel_ctrls for ct in c.containers]
    if override:
        install.version, install.version_source = IstioVersion.parse(override), "--istio-version"
    else:
        for src, image in images:
            v = IstioVersion.from_image(image)
            if v is not None:
                install.version, install.version_source = v, src
                break
        else:
            hint = IstioVersion.from_image(f"x:{cluster.istio_version_hint}") if cluster.istio_version_hint else None
            if hint is not None:
                install.version, install.version_source = hint, f"ztunnel config_dump version {cluster.istio_version_hint}"
            else:
                install.notes.append(
                        f"Istio version not detected (no istiod/ztunnel image with a version tag); assuming {DEFAULT}. "
                    "Pass --istio-version X.Y to choose."
                )
    if override:
        install.ztunnel_version, install.ztunnel_version_source = install.version, "--istio-version"
    else:
        for src, image in [(f"ztunnel image {ct.image}", ct.image) for c in ztunnel_ctrls for ct in c.containers]:
            zv = IstioVersion.from_image(image)
            if zv is not None:
                install.ztunnel_version, install.ztunnel_version_source = zv, src
                break
        if install.ztunnel_version is not None and install.ztunnel_version.label != install.version.label:
            install.notes.append(f"version skew: istiod is {install.version} ({install.version_source}), the ztunnels "
                                 f"are {install.ztunnel_version} ({install.ztunnel_version_source}); each is modelled "
                                 "at its own version")
    for c in cluster.controllers:
        if c.kind == "DaemonSet" and (c.template_labels.get("k8s-app") == "istio-cni-node"
                                      or c.meta.name == "istio-cni-node"):
            for ct in c.containers:
                install.cni_settings.update(ct.env)
    cni_cm = next((c for c in cluster.config_maps if c.meta.name == "istio-cni-config"), None)
    if cni_cm is not None:
        install.cni_settings.update(cni_cm.data)
    if install.version.newer_than_model:
        install.notes.append(
            f"Istio {install.version} is newer than the newest version this model was checked against; "
            "behaviour of the newest known version is assumed."
        )

    # istiod settings: literal env values of the discovery container.
    for c in istiod_ctrls:
        for ct in c.containers:
            for k, v in ct.env.items():
                install.settings.setdefault(k, v)
    if istiod_ctrls:
        install.istiod = [p for p in cluster.pods if p.meta.namespace == istiod_ctrls[0].meta.namespace
                          and p.meta.labels.get("app") == "istiod"]

    # Mesh config: ConfigMap `istio` in istiod's namespace (or any namespace when istiod is not visible).
    ns = istiod_ctrls[0].meta.namespace if istiod_ctrls else "istio-system"
    install.root_namespace = ns
    cm = next((c for c in cluster.config_maps if c.meta.name == "istio" and c.meta.namespace == ns), None) or next(
        (c for c in cluster.config_maps if c.meta.name == "istio"), None
    )
    if cm and cm.data.get("mesh"):
        try:
            mesh = yaml.safe_load(cm.data["mesh"]) or {}
        except yaml.YAMLError:
            mesh = {}
            install.notes.append(f"ConfigMap {cm.meta.key}: the mesh key is not valid YAML; using defaults")
        if isinstance(mesh, dict):
            install.mesh_config = mesh
            install.root_namespace = str(mesh.get("rootNamespace") or ns)
            install.trust_domain = str(mesh.get("trustDomain") or "cluster.local")

    for p in cluster.pods:
        if is_ztunnel_pod(p) and p.node_name:
            cur = install.ztunnels.get(p.node_name)
            if cur is None or (p.ready and not cur.ready):
                install.ztunnels[p.node_name] = p
    return install
