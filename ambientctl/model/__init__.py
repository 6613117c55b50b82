"""Plain data: the cluster objects (objects.py), how manifests become them (parse.py), and the indexed
container the rest of the tool reads (cluster.py). No I/O here."""

from ambientctl.model.cluster import Cluster
from ambientctl.model.parse import parse_object

__all__ = ["Cluster", "parse_object"]
