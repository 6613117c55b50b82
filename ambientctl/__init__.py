"""ambientctl: debug Istio ambient mode - which way did a request go, and why was it allowed, denied or
hairpinned."""

__version__ = "0.1.0"
