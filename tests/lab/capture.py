"""tcpdump inside a lab namespace, started before traffic and stopped so the pcap is complete and valid.

Start returns only once tcpdump says it is listening (otherwise the SYN can be missed); stop sends SIGINT and
waits, so tcpdump flushes and closes the file itself.
"""

from __future__ import annotations

import select
import signal
import subprocess
import time
from pathlib import Path

from tests.lab.netns import LabUnavailable, Topology


class Tcpdump:
    def __init__(self, lab: Topology, ns: str, interface: str, pcap: Path, bpf: str = "tcp") -> None:
        self.lab, self.pcap = lab, pcap
        # --immediate-mode: without it packets wait in the kernel ring (TPACKET_V3 block timeout) and a quick
        # SIGINT loses them ("received by filter" but not captured). -U: write each packet as it comes;
        # -Z root: keep root so it may write into our temp directory.
        self.process = lab.spawn(
            ns, ["tcpdump", "-i", interface, "-n", "-U", "--immediate-mode", "-Z", "root", "-s", "0", "-w", str(pcap), bpf],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        self.stderr = b""
        deadline = time.monotonic() + 10
        while b"listening on" not in self.stderr:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.process.poll() is not None:
                lab.stop(self.process)
                raise LabUnavailable(f"tcpdump on {ns}/{interface} did not start: {self.stderr.decode().strip()}")
            ready, _, _ = select.select([self.process.stderr], [], [], remaining)
            if ready:
                self.stderr += self.process.stderr.read1(4096)  # type: ignore[union-attr]

    def stop(self) -> Path:
        self.lab.stop(self.process, sig=signal.SIGINT, timeout=10)
        self.stderr += self.process.stderr.read() if self.process.stderr else b""  # type: ignore[operator]
        if self.process.returncode != 0:
            raise LabUnavailable(f"tcpdump exited {self.process.returncode}: {self.stderr.decode().strip()}")
        return self.pcap
