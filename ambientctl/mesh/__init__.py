"""Cluster state -> the ambient view: enrolment, identity, ztunnel per node, waypoint binding, and the
behaviour era of the Istio version in use. Pure: no I/O."""

from ambientctl.mesh.version import IstioVersion
from ambientctl.mesh.view import MeshView

__all__ = ["IstioVersion", "MeshView"]
