"""Istio versions as behaviour eras.

Ambient mode changed shape three times (research/istio.md §0, §5.3): the Sep 2022 `experimental-ambient`
branch (Envoy ztunnel, `istio-mesh` waypoints per service account), 1.18–1.21 (Rust ztunnel, `istio-waypoint`
Gateways with `istio.io/for-service-account`, hairpinning), and 1.22+ (`istio.io/use-waypoint`, no hairpin).
Everything version dependent asks an IstioVersion, never compares strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ambientctl.errors import UsageError

EXPERIMENTAL = "experimental-2022"
OLDEST = (1, 18)
NEWEST = (1, 31)  # newest version the model has been checked against (research/istio.md §0)

_SEMVER = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True, order=True)
class IstioVersion:
    major: int
    minor: int
    patch: int = 0
    experimental: bool = False  # the 2022 experimental-ambient builds (tags 0.0.0-ambient.<sha>)

    @classmethod
    def parse(cls, text: str) -> IstioVersion:
        """`1.20`, `1.20.3`, `v1.24.0`, `experimental-2022`. Unsupported strings raise UsageError (exit 2)."""
        t = text.strip().lower()
        if t in (EXPERIMENTAL, "experimental", "2022"):
            return cls(0, 0, 0, experimental=True)
        m = _SEMVER.match(t)
        if not m or (m.end() != len(t) and t[m.end()] not in "-+"):
            raise UsageError(f"unsupported Istio version {text!r} (expected X.Y such as 1.24, or {EXPERIMENTAL})")
        v = cls(int(m[1]), int(m[2]), int(m[3] or 0))
        if (v.major, v.minor) < OLDEST:
            raise UsageError(
                f"unsupported Istio version {text!r}: ambient mode exists from 1.18 on (or use {EXPERIMENTAL} for "
                "the 2022 experimental builds)"
            )
        return v

    @classmethod
    def from_image(cls, image: str) -> IstioVersion | None:
        """The version in an istiod/ztunnel image tag, or None when the tag says nothing (`latest`, digests)."""
        ref = image.split("@", 1)[0]
        tag = ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else ""
        if tag.startswith("0.0.0-ambient"):
            return cls(0, 0, 0, experimental=True)
        m = _SEMVER.match(tag)
        if not m:
            return None
        try:
            return cls.parse(m[0])
        except UsageError:
            return None

    # -- eras ---------------------------------------------------------------------------------------------
    @property
    def label(self) -> str:
        return EXPERIMENTAL if self.experimental else f"{self.major}.{self.minor}"

    def at_least(self, major: int, minor: int) -> bool:
        return not self.experimental and (self.major, self.minor) >= (major, minor)

    @property
    def legacy(self) -> bool:
        """1.18–1.21: service-account waypoints, hairpinning, 401 for HBONE that bypassed the waypoint."""
        return not self.experimental and (1, 18) <= (self.major, self.minor) <= (1, 21)

    @property
    def current(self) -> bool:
        """1.22+: istio.io/use-waypoint labels, no hairpin, waypoint chosen by the addressed destination."""
        return self.at_least(1, 22)

    @property
    def newer_than_model(self) -> bool:
        return not self.experimental and (self.major, self.minor) > NEWEST

    @property
    def in_pod_redirection(self) -> bool:
        """1.21+: istio-cni sets up redirection inside the pod's network namespace (research/istio.md §2.1)."""
        return self.at_least(1, 21)

    def __str__(self) -> str:
        return self.label


DEFAULT = IstioVersion(*NEWEST)
