"""Packet capture out of pods: where to capture (plan, pure), attaching ephemeral netshoot containers (attach),
and streaming `tcpdump -w -` out of them into valid pcap files (stream).

The Kubernetes calls themselves live in ambientctl.sources.kube_exec, so this package never imports
`kubernetes` (import-linter contract in pyproject.toml).
"""
