"""The HBONE lab: real servers in real namespaces, one capture per scenario, with the facts each must show.

`run_lab(workdir)` builds the topology (tests/lab/netns.py), issues Istio-style certificates, starts the HBONE
servers, runs every scenario with tcpdump around it, tears everything down and returns {name: Capture}. A
Capture holds the pcap (client leg, port 15008 or plaintext 9080), the pcap of the ztunnel->app leg, the NSS
key log of that one TLS session, ztunnel-format access log lines (policy server only) and `expected`: the facts
a correct decoder must find in the pcap.

Servers: nghttpx --http2-proxy (client-cert verification, TLS 1.3 only, ALPN h2) with tinyproxy behind it on
loopback, as measured in research/environment.md; and tests/lab/hbone_server.py for decisions nghttpx cannot
make (401 by identity, 503, 400 ip mismatch, reset after handshake).
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.lab import netns
from tests.lab.capture import Tcpdump
from tests.lab.certs import Identity, MeshCA, make_ca, make_workload_identity
from tests.lab.hbone_client import HboneRequest
from tests.lab.netns import LabUnavailable, Topology

REPO = Path(__file__).resolve().parents[2]
RECORDED_DIR = Path(__file__).resolve().parent / "recorded"  # committed by `python -m tests.lab.record`
APP_AUTHORITY = f"{netns.APP_IP}:{netns.APP_PORT}"
PRODUCTPAGE_HOST = "productpage.default.svc.cluster.local"
INNER_REQUEST_LINE = "GET /productpage HTTP/1.1"
TINYPROXY_PORT = 3128


def baggage_for(workload: str) -> str:
    return (f"k8s.cluster.name=Kubernetes,k8s.namespace.name=default,k8s.deployment.name={workload},"
            f"service.name={workload},service.version=v1")


@dataclass(frozen=True)
class Expected:
    """What is true of one scenario's capture; decoders are checked against this (and against tshark)."""

    scenario: str
    description: str
    transport: str  # "hbone" (TLS on 15008) or "plaintext"
    hbone_server: str | None  # "nghttpx", "policy-server", "reset-server"
    client_addr: str  # ip:port, source of the captured TCP connection
    server_addr: str  # ip:port, its destination (ztunnel's dst.addr)
    authority: str | None  # CONNECT :authority (dst.hbone_addr)
    status: int | None  # CONNECT response :status; None when none was sent
    inner_status: int | None  # status line of the app's HTTP/1.1 answer relayed through the tunnel
    inner_request_line: str
    baggage: str | None
    forwarded: str | None
    traceparent: str | None
    client_spiffe: str | None
    server_spiffe: str | None
    tls_version: str | None  # "TLSv1.3"
    alpn: str | None  # "h2"
    sni: str | None  # always None: ztunnel sends no SNI
    reset_by: str | None  # "server" when the TCP connection is aborted with RST
    ztunnel_error: str | None  # the error= of the access log line, when the server decided to fail
    stream_id: int | None = 1
    hbone_port: int = netns.HBONE_PORT
    app_port: int = netns.APP_PORT

    @property
    def trace_id(self) -> str | None:
        return self.traceparent.split("-")[1] if self.traceparent else None


@dataclass
class Capture:
    name: str
    pcap: Path  # client <-> ztunnel leg (captured on the ztunnel side of the client veth)
    app_pcap: Path  # ztunnel <-> app leg (plaintext, what the app sees)
    keylog: Path | None  # NSS key log of the TLS session in `pcap`; None for plaintext
    expected: Expected
    observed: dict  # what the lab's client saw (tests/lab/hbone_client.py HboneResult)
    access_log: list[str] = field(default_factory=list)  # ztunnel-format lines from the policy server

    def manifest_entry(self, relative_to: Path | None = None) -> dict:
        def rel(p: Path | None) -> str | None:
            if p is None:
                return None
            return str(p.relative_to(relative_to)) if relative_to else str(p)

        return {
            "pcap": rel(self.pcap), "app_pcap": rel(self.app_pcap), "keylog": rel(self.keylog),
            "expected": asdict(self.expected), "observed": self.observed, "access_log": self.access_log,
        }


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    server: str  # "nghttpx", "policy-server", "reset-server", "plaintext"
    identity: str  # client service account: sleep / notsleep
    authority: str
    status: int | None
    inner_status: int | None
    ztunnel_error: str | None = None
    reset_by: str | None = None


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("allowed", "sleep -> productpage through nghttpx: CONNECT 200, inner GET 200",
             "nghttpx", "sleep", APP_AUTHORITY, 200, 200),
    Scenario("allowed-by-policy", "sleep is in the ALLOW list (productpage-viewer): CONNECT 200, inner 200",
             "policy-server", "sleep", APP_AUTHORITY, 200, 200),
    Scenario("denied", "notsleep is not in the ALLOW list: CONNECT answered 401, nothing reaches the app",
             "policy-server", "notsleep", APP_AUTHORITY, 401, None,
             ztunnel_error="connection closed due to policy rejection: allow policies exist, but none allowed"),
    Scenario("upstream-refused", "nothing listens on the target port: CONNECT answered 503",
             "policy-server", "sleep", f"{netns.APP_IP}:9091", 503, None,
             ztunnel_error="io error: Connection refused (os error 111)"),
    Scenario("ip-mismatch", "the CONNECT target is not a workload this ztunnel serves: 400",
             "policy-server", "sleep", "10.244.2.11:9080", 400, None,
             ztunnel_error=f"ip mismatch: {netns.APP_IP} != 10.244.2.11"),
    Scenario("reset-after-handshake", "mTLS handshake completes, the CONNECT arrives, the server aborts with a TCP RST (no :status)",
             "reset-server", "sleep", APP_AUTHORITY, None, None,
             ztunnel_error="connection reset after TLS handshake (lab: SO_LINGER 0)", reset_by="server"),
    Scenario("plaintext", "a pod outside the mesh: plain HTTP/1.1 straight to the app on 9080, no HBONE",
             "plaintext", "sleep", APP_AUTHORITY, None, 200),
)

SERVER_ADDRS = {
    "nghttpx": f"{netns.ZTUNNEL_CLIENT_SIDE_IP}:{netns.HBONE_PORT}",
    "policy-server": f"{netns.POLICY_SERVER_IP}:{netns.HBONE_PORT}",
    "reset-server": f"{netns.RESET_SERVER_IP}:{netns.HBONE_PORT}",
    "plaintext": APP_AUTHORITY,
}


class HboneLab:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.topology = Topology()
        self.access_log = workdir / "ztunnel-access.log"

    # -- setup ---------------------------------------------------------------------------------------------

    def __enter__(self) -> HboneLab:
        reason = netns.missing_means()
        if reason:
            raise LabUnavailable(reason)
        try:
            self.topology.build()
            self._issue_certificates()
            self._start_servers()
        except BaseException:
            self.topology.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.topology.close()

    def _issue_certificates(self) -> None:
        certs = self.workdir / "certs"
        self.ca: MeshCA = make_ca(certs)
        self.identities: dict[str, Identity] = {
            sa: make_workload_identity(self.ca, certs, "default", sa)
            for sa in ("sleep", "notsleep", "bookinfo-productpage")
        }

    def _python(self, ns: str, module: str, *args: str) -> subprocess.Popen:
        process = self.topology.spawn(ns, [sys.executable, "-m", module, *args], cwd=REPO,
                                      stdout=subprocess.PIPE, stderr=self.workdir.joinpath(
                                          f"{module.rsplit('.', 1)[-1]}.{len(self.topology.processes)}.err"
                                      ).open("wb"), text=True)
        line = process.stdout.readline() if process.stdout else ""
        if not line.startswith("listening"):
            raise LabUnavailable(f"{module} in {ns} did not start (see {self.workdir})")
        return process

    def _start_servers(self) -> None:
        t, ids = self.topology, self.identities
        server = ids["bookinfo-productpage"]
        self._python(t.app, "tests.lab.app_server", APP_AUTHORITY)

        conf = self.workdir / "tinyproxy.conf"
        conf.write_text(
            f"Port {TINYPROXY_PORT}\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 30\nMaxClients 20\n"
            f"LogLevel Info\nSyslog Off\nUser root\nGroup root\nConnectPort {netns.APP_PORT}\n"
            "DisableViaHeader Yes\n"
        )
        t.spawn(t.ztunnel, ["tinyproxy", "-d", "-c", str(conf)], stdout=subprocess.DEVNULL,
                stderr=(self.workdir / "tinyproxy.err").open("wb"))
        t.spawn(t.ztunnel, [
            "nghttpx", "--http2-proxy",
            f"--frontend={netns.ZTUNNEL_CLIENT_SIDE_IP},{netns.HBONE_PORT}",
            f"--backend=127.0.0.1,{TINYPROXY_PORT}",
            "--verify-client", f"--verify-client-cacert={self.ca.cert}",
            "--tls-min-proto-version=TLSv1.3", "--tls-max-proto-version=TLSv1.3",
            "--npn-list=h2", "--no-ocsp", "--no-via", "--workers=1",
            f"--errorlog-file={self.workdir / 'nghttpx.err'}",
            f"--accesslog-file={self.workdir / 'nghttpx-access.log'}",
            str(server.key), str(server.cert),
        ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        for _name, ip, reset in (("policy-server", netns.POLICY_SERVER_IP, False),
                                ("reset-server", netns.RESET_SERVER_IP, True)):
            config = {
                "listen": f"{ip}:{netns.HBONE_PORT}", "cert": str(server.cert), "key": str(server.key),
                "ca": str(self.ca.cert), "local_workloads": [netns.APP_IP],
                "allowed_principals": [ids["sleep"].spiffe_id], "access_log": str(self.access_log),
                "server_id": server.spiffe_id, "reset_after_handshake": reset,
            }
            self._python(t.ztunnel, "tests.lab.hbone_server", json.dumps(config))
        self._wait_listening(t.ztunnel, f"127.0.0.1:{TINYPROXY_PORT}", "tinyproxy")
        self._wait_listening(t.ztunnel, SERVER_ADDRS["nghttpx"], "nghttpx")

    def _wait_listening(self, ns: str, addr: str, what: str) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            out = self.topology.run(ns, ["ss", "-Hltn"], capture_output=True, text=True).stdout
            if any(addr == line.split()[3] for line in out.splitlines() if len(line.split()) > 3):
                return
            time.sleep(0.05)
        raise LabUnavailable(f"{what} is not listening on {addr} in {ns} (logs in {self.workdir})")

    # -- scenarios -----------------------------------------------------------------------------------------

    def run(self, scenario: Scenario) -> Capture:
        t = self.topology
        out = self.workdir / "captures"
        out.mkdir(exist_ok=True)
        pcap, app_pcap = out / f"{scenario.name}.pcap", out / f"{scenario.name}.app.pcap"
        keylog = None if scenario.server == "plaintext" else out / f"{scenario.name}.keys"
        if keylog:
            keylog.unlink(missing_ok=True)
        identity = self.identities[scenario.identity]
        traceparent = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"
        log_offset = self.access_log.stat().st_size if self.access_log.exists() else 0

        client_leg = Tcpdump(t, t.ztunnel, netns.ZT_CLIENT_IF, pcap)
        app_leg = Tcpdump(t, t.ztunnel, netns.ZT_APP_IF, app_pcap)
        try:
            if keylog is None:
                argv = ["--plaintext", SERVER_ADDRS["plaintext"]]
            else:
                request = HboneRequest(
                    server=SERVER_ADDRS[scenario.server], authority=scenario.authority,
                    cert=str(identity.cert), key=str(identity.key), ca=str(self.ca.cert), keylog=str(keylog),
                    traceparent=traceparent, baggage=baggage_for(scenario.identity),
                    expect_server_id=self.identities["bookinfo-productpage"].spiffe_id,
                )
                argv = [json.dumps(asdict(request))]
            done = t.run(t.client, [sys.executable, "-m", "tests.lab.hbone_client", *argv], cwd=REPO,
                         capture_output=True, text=True)
            if done.returncode != 0:
                raise LabUnavailable(f"HBONE client failed in scenario {scenario.name}: {done.stderr.strip()}")
            observed = json.loads(done.stdout)
            time.sleep(0.3)  # let the closing FIN/ACKs (and the relay's last bytes) reach the capture
        finally:
            client_leg.stop()
            app_leg.stop()
        time.sleep(0.05)
        access_log = []
        if scenario.server in ("policy-server", "reset-server") and self.access_log.exists():
            with self.access_log.open(encoding="utf-8") as f:
                f.seek(log_offset)
                access_log = [line.rstrip("\n") for line in f if line.strip()]

        hbone = keylog is not None
        expected = Expected(
            scenario=scenario.name, description=scenario.description,
            transport="hbone" if hbone else "plaintext",
            hbone_server=scenario.server if hbone else None,
            client_addr=observed["client_addr"], server_addr=SERVER_ADDRS[scenario.server],
            authority=scenario.authority if hbone else None,
            status=scenario.status, inner_status=scenario.inner_status,
            inner_request_line=INNER_REQUEST_LINE,
            baggage=baggage_for(scenario.identity) if hbone else None,
            forwarded=observed["forwarded"] or None,
            traceparent=traceparent if hbone else None,
            client_spiffe=identity.spiffe_id if hbone else None,
            server_spiffe=self.identities["bookinfo-productpage"].spiffe_id if hbone else None,
            tls_version="TLSv1.3" if hbone else None, alpn="h2" if hbone else None, sni=None,
            reset_by=scenario.reset_by, ztunnel_error=scenario.ztunnel_error,
            stream_id=1 if hbone and scenario.reset_by is None else None,
        )
        return Capture(scenario.name, pcap, app_pcap, keylog, expected, observed, access_log)


@dataclass
class LabRun:
    captures: dict[str, Capture]
    netns_prefix: str  # actl-<random>; no namespace with this prefix exists once run_lab returns
    ca_cert: Path


def record_scenarios(workdir: Path, scenarios: tuple[Scenario, ...] = SCENARIOS) -> LabRun:
    """Builds the lab, records every scenario, tears the lab down (even on failure)."""
    workdir.mkdir(parents=True, exist_ok=True)
    with HboneLab(workdir) as lab:
        captures = {s.name: lab.run(s) for s in scenarios}
    return LabRun(captures, lab.topology.prefix, lab.ca.cert)


def run_lab(workdir: Path, scenarios: tuple[Scenario, ...] = SCENARIOS) -> dict[str, Capture]:
    """{scenario name: Capture}, recorded fresh under `workdir`; raises LabUnavailable when it cannot run."""
    return record_scenarios(workdir, scenarios).captures


MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


def manifest(captures: dict[str, Capture], relative_to: Path) -> dict:
    return {
        "version": MANIFEST_VERSION,
        "what": "HBONE captures recorded by tests/lab (python -m tests.lab.record); facts per scenario",
        "topology": {
            "client": netns.CLIENT_IP, "nghttpx": SERVER_ADDRS["nghttpx"],
            "policy_server": SERVER_ADDRS["policy-server"], "reset_server": SERVER_ADDRS["reset-server"],
            "app": APP_AUTHORITY,
        },
        "scenarios": {name: c.manifest_entry(relative_to) for name, c in captures.items()},
    }


def load_manifest(directory: Path) -> dict[str, Capture]:
    """Reads captures recorded by tests.lab.record back into Capture objects (paths made absolute)."""
    doc = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    if doc.get("version") != MANIFEST_VERSION:
        raise ValueError(f"{directory / MANIFEST}: manifest version {doc.get('version')!r}, "
                         f"expected {MANIFEST_VERSION}")
    captures = {}
    for name, entry in doc["scenarios"].items():
        captures[name] = Capture(
            name=name, pcap=directory / entry["pcap"], app_pcap=directory / entry["app_pcap"],
            keylog=directory / entry["keylog"] if entry["keylog"] else None,
            expected=Expected(**entry["expected"]), observed=entry["observed"],
            access_log=entry["access_log"],
        )
    return captures
