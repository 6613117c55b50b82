"""IstioVersion parsing and eras (research/istio.md §0 release timeline, §5.3 legacy model)."""

import pytest

from ambientctl.errors import UsageError
from ambientctl.mesh.version import IstioVersion


@pytest.mark.parametrize(
    ("text", "label", "legacy", "current", "experimental"),
    [
        ("1.18", "1.18", True, False, False),
        ("1.21.2", "1.21", True, False, False),
        ("1.22", "1.22", False, True, False),
        ("v1.28.0", "1.28", False, True, False),
        ("experimental-2022", "experimental-2022", False, False, True),
    ],
)
def test_eras(text, label, legacy, current, experimental):
    v = IstioVersion.parse(text)
    assert (v.label, v.legacy, v.current, v.experimental) == (label, legacy, current, experimental)


@pytest.mark.parametrize("bad", ["1.17", "1.2", "banana", "1", "1.x", ""])
def test_unsupported_versions_are_usage_errors(bad):
    with pytest.raises(UsageError, match="unsupported Istio version"):
        IstioVersion.parse(bad)


@pytest.mark.parametrize(
    ("image", "label"),
    [
        ("docker.io/istio/pilot:1.28.0", "1.28"),
        ("gcr.io/istio-release/ztunnel:1.20.3-distroless", "1.20"),
        ("istio/pilot:0.0.0-ambient.191fe680b52c1754ee72a06b3e0d3f9d116f2e82", "experimental-2022"),
        ("localhost:5000/istio/pilot:1.24.1", "1.24"),
    ],
)
def test_version_from_image_tag(image, label):
    assert IstioVersion.from_image(image).label == label


@pytest.mark.parametrize("image", ["istio/pilot:latest", "istio/pilot", "istio/pilot@sha256:abcd", "localhost:5000/pilot"])
def test_image_without_version_tag_says_nothing(image):
    assert IstioVersion.from_image(image) is None
