"""Three network namespaces joined by veth pairs: client pod, "ztunnel" (HBONE server), app pod.

Everything is created inside namespaces this process creates (names actl-<random>-*), with addresses in
10.244.0.0/16 that exist only inside them; the veths are created directly in the namespaces, so the host's
interfaces and routes are never touched and no packet can leave. `Topology.close()` kills the processes it
started (by pid) and deletes the namespaces, which also destroys the veths.

    client 10.244.1.12 ──c-eth0 ═ zt-client── ztunnel 10.244.1.1 (nghttpx), .2 (policy server), .3 (reset)
                                             ztunnel 10.244.2.1 ──zt-app ═ a-eth0── app 10.244.2.10:9080
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field

CLIENT_IP = "10.244.1.12"
ZTUNNEL_CLIENT_SIDE_IP = "10.244.1.1"  # nghttpx HBONE listener
POLICY_SERVER_IP = "10.244.1.2"  # Python HBONE server with an authorization policy
RESET_SERVER_IP = "10.244.1.3"  # Python HBONE server that resets after the TLS handshake
ZTUNNEL_APP_SIDE_IP = "10.244.2.1"
APP_IP = "10.244.2.10"
APP_PORT = 9080
HBONE_PORT = 15008

# Interface names inside the namespaces (the capture points).
CLIENT_IF = "c-eth0"
ZT_CLIENT_IF = "zt-client"
ZT_APP_IF = "zt-app"
APP_IF = "a-eth0"


class LabUnavailable(RuntimeError):
    """The machine lacks something the lab needs (root, ip netns, a binary); the message says what."""


def missing_means() -> str | None:
    """Why the lab cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "the HBONE lab needs root (network namespaces, tcpdump)"
    for binary, package in (
        ("ip", "iproute2"), ("nghttpx", "nghttp2-proxy"), ("tinyproxy", "tinyproxy"),
        ("tcpdump", "tcpdump"), ("tshark", "tshark"),
    ):
        if shutil.which(binary) is None:
            return f"{binary} not found (Debian package {package}; run scripts/install-system-deps)"
    probe = f"actl-{secrets.token_hex(3)}-probe"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip() or 'ip netns add failed'}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise LabUnavailable(f"ip {' '.join(args)}: {done.stderr.strip()}")


@dataclass
class Topology:
    prefix: str = field(default_factory=lambda: f"actl-{secrets.token_hex(3)}")
    created: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def client(self) -> str:
        return f"{self.prefix}-client"

    @property
    def ztunnel(self) -> str:
        return f"{self.prefix}-ztunnel"

    @property
    def app(self) -> str:
        return f"{self.prefix}-app"

    def build(self) -> Topology:
        for ns in (self.client, self.ztunnel, self.app):
            _ip("netns", "add", ns)
            self.created.append(ns)
            # IPv4 only: no router solicitations or MLD reports in the captures.
            self.sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1")
            self.sysctl(ns, "net.ipv6.conf.default.disable_ipv6", "1")
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", self.client, "link", "add", CLIENT_IF, "type", "veth", "peer", "name", ZT_CLIENT_IF,
            "netns", self.ztunnel)
        _ip("-n", self.app, "link", "add", APP_IF, "type", "veth", "peer", "name", ZT_APP_IF,
            "netns", self.ztunnel)
        _ip("-n", self.client, "addr", "add", f"{CLIENT_IP}/24", "dev", CLIENT_IF)
        for address in (ZTUNNEL_CLIENT_SIDE_IP, POLICY_SERVER_IP, RESET_SERVER_IP):
            _ip("-n", self.ztunnel, "addr", "add", f"{address}/24", "dev", ZT_CLIENT_IF)
        _ip("-n", self.ztunnel, "addr", "add", f"{ZTUNNEL_APP_SIDE_IP}/24", "dev", ZT_APP_IF)
        _ip("-n", self.app, "addr", "add", f"{APP_IP}/24", "dev", APP_IF)
        for ns, dev in ((self.client, CLIENT_IF), (self.ztunnel, ZT_CLIENT_IF), (self.ztunnel, ZT_APP_IF),
                        (self.app, APP_IF)):
            _ip("-n", ns, "link", "set", dev, "up")
        _ip("-n", self.client, "route", "add", "default", "via", ZTUNNEL_CLIENT_SIDE_IP)
        _ip("-n", self.app, "route", "add", "default", "via", ZTUNNEL_APP_SIDE_IP)
        # The plaintext scenario (a pod outside the mesh) goes client -> app straight through.
        self.sysctl(self.ztunnel, "net.ipv4.ip_forward", "1")
        self._wait_for_carrier()
        return self

    def _wait_for_carrier(self, timeout: float = 10) -> None:
        """veth carrier comes up asynchronously (link watch); traffic sent before that is dropped."""
        deadline = time.monotonic() + timeout
        pending = {(self.client, CLIENT_IF), (self.ztunnel, ZT_CLIENT_IF), (self.ztunnel, ZT_APP_IF),
                   (self.app, APP_IF)}
        while pending:
            for ns, dev in list(pending):
                out = subprocess.run(["ip", "-n", ns, "-br", "link", "show", dev], capture_output=True, text=True)
                if out.stdout.split()[1:2] == ["UP"]:
                    pending.discard((ns, dev))
            if pending and time.monotonic() > deadline:
                raise LabUnavailable(f"veth links without carrier after {timeout}s: {sorted(pending)}")
            time.sleep(0.05)

    def sysctl(self, ns: str, key: str, value: str) -> None:
        path = "/proc/sys/" + key.replace(".", "/")
        done = subprocess.run(["ip", "netns", "exec", ns, "sh", "-c", f"echo {value} > {path}"],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise LabUnavailable(f"sysctl {key}={value} in {ns}: {done.stderr.strip()}")

    def exec_argv(self, ns: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", ns, *argv]

    def spawn(self, ns: str, argv: list[str], **popen_kwargs) -> subprocess.Popen:  # type: ignore[no-untyped-def]
        """Starts a long-running process inside `ns`; close() ends it."""
        process = subprocess.Popen(self.exec_argv(ns, argv), **popen_kwargs)
        self.processes.append(process)
        return process

    def run(self, ns: str, argv: list[str], timeout: float = 30, **kwargs) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
        return subprocess.run(self.exec_argv(ns, argv), timeout=timeout, **kwargs)

    def stop(self, process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 5) -> None:
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)
        if process in self.processes:
            self.processes.remove(process)

    def close(self) -> None:
        for process in list(reversed(self.processes)):
            self.stop(process)
        for ns in reversed(self.created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.created.clear()

    def __enter__(self) -> Topology:
        try:
            return self.build()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()
