"""The plugin contracts, version 1 — what a plugin receives and returns. Import from here, not from ambientctl's
internals: these names stay stable within a group version (plugins/README.md has examples).

ambientctl.decoders.v1 — an L7 decoder is a callable `decode(stream: InnerStream) -> Decoded | None`:
    return None when the bytes are not your protocol. Optional attributes on the callable:
    `deep = True`: slow, generic decoders (tshark) run only on streams no other decoder recognised;
    `decode_batch(streams: list[InnerStream]) -> list[Decoded | None]`: called once with all of them instead.
ambientctl.findings.v1 — a check is a callable `check(ctx: PodContext) -> Iterable[Finding]`.
ambientctl.outputs.v1 — an output format is a callable `write(doc: dict, out: TextIO) -> None` that writes the
    whole `apiVersion: ambientctl/v1` document (any kind) to `out`.

Plugins are called from the command's thread (the app calls them from worker threads, never from its UI loop), so
they may block; they must not print to stdout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ambientctl.explain.findings import SEVERITIES, Finding
    from ambientctl.mesh.view import Enrollment, MeshView, WaypointBinding
    from ambientctl.model import objects as o

API_VERSION = 1
__all__ = ["API_VERSION", "SEVERITIES", "Decoded", "Finding", "InnerStream", "PodContext"]


def __getattr__(name: str):  # Finding/SEVERITIES come from the explain core, imported only by findings checks
    if name in ("Finding", "SEVERITIES"):
        from ambientctl.explain import findings

        return getattr(findings, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class InnerStream:
    """The application bytes of one conversation, each direction in order, as far as the capture and the key log
    allow.

    kind "hbone": the DATA of one HTTP/2 CONNECT stream inside a decrypted HBONE tunnel — what the client app sent
        (`client`) and what the destination app answered (`server`); `authority` is the CONNECT target ip:port.
    kind "tls": the decrypted application data of a TLS connection that is not HBONE (e.g. gRPC over TLS);
        `authority` is the server's ip:port and `alpn` the negotiated protocol.
    A direction longer than the cap is cut (`client_truncated`/`server_truncated`).
    """

    kind: str
    flow: int
    stream_id: int | None
    authority: str | None
    client: bytes
    server: bytes
    client_truncated: bool = False
    server_truncated: bool = False
    alpn: str | None = None
    first_ts: float = 0.0

    @property
    def server_port(self) -> int | None:
        if not self.authority or ":" not in self.authority:
            return None
        try:
            return int(self.authority.rsplit(":", 1)[1])
        except ValueError:
            return None


@dataclass
class Decoded:
    """What a decoder understood: the protocol, a one-line summary and a short list of messages, each a flat
    dict of JSON-friendly values (e.g. {"direction": "client", "method": "GET", "path": "/"}). ambientctl keeps
    the first 50 messages."""

    protocol: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    summary: str | None = None


class PodContext:
    """What a findings check gets for one pod: `doc` is the PodDescription body exactly as `describe pod -o json`
    prints it (the stable contract); `view` and `pod` are ambientctl's model for checks that need more, with the
    same inputs `pod_findings` uses (enrollment, ztunnel, waypoint binding, services with their bindings)."""

    def __init__(self, view: MeshView, pod: o.Pod, doc: dict[str, Any]):
        self.view = view
        self.pod = pod
        self.doc = doc

    @cached_property
    def enrollment(self) -> Enrollment:
        return self.view.enrollment(self.pod)

    @cached_property
    def ztunnel(self) -> o.Pod | None:
        return self.view.ztunnel_for(self.pod)

    @cached_property
    def waypoint(self) -> WaypointBinding:
        return self.view.workload_waypoint(self.pod)

    @cached_property
    def services(self) -> list[tuple[o.Service, WaypointBinding]]:
        return [(s, self.view.service_waypoint(s)) for s in self.view.services_for(self.pod)]
