"""Stream `tcpdump -w -` out of a pod into pcap files that stay valid whatever happens.

The remote command bounds itself (`timeout S tcpdump -c N …`), so it ends even if ambientctl dies. Locally,
`PcapStreamWriter` parses the pcap stream as it arrives and writes only complete records: at any instant — Ctrl-C,
a dropped connection, an API server that cuts the stream mid-record — the file on disk is a valid pcap, and at
most one partial record is held in memory (no unbounded buffering). Files are written to a hidden temporary and
renamed when the stream ends.
"""

from __future__ import annotations

import contextlib
import shlex
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from ambientctl.errors import InputError

PCAP_HEADER_LEN = 24
RECORD_HEADER_LEN = 16
MAX_RECORD = 1 << 18  # tcpdump's default snaplen is 262144; a larger captured length means a broken stream
PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",  # microseconds
    b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">",  # nanoseconds
}
PID_MARK = "ambientctl-pid "
DEFAULT_DURATION = 60.0


class StreamError(InputError):
    """The byte stream is not a pcap stream (tcpdump printed text, or the stream is damaged)."""


class ByteSource(Protocol):
    """Where the pcap bytes come from (a Kubernetes exec stream, or a local process in tests)."""

    def read(self, timeout: float) -> bytes | None:
        """Up to a chunk of stdout; b"" when nothing arrived within timeout; None at the end of the stream."""

    def close(self) -> None: ...


def tcpdump_command(interface: str, bpf: str = "", duration: float | None = None, count: int | None = None,
                    snaplen: int | None = None) -> list[str]:
    """The argv to exec in the capture container. `timeout` bounds the run inside the pod; the shell reports
    its PID on stderr (so an interrupted capture can be stopped early) and then becomes `timeout`."""
    seconds = duration if duration is not None else DEFAULT_DURATION
    if seconds <= 0:
        raise InputError(f"--duration {seconds:g}: must be more than 0 seconds")
    if count is not None and count <= 0:
        raise InputError(f"--count {count}: must be at least 1")
    # -p: no promiscuous mode, so NET_RAW is the only capability needed (a pod's veth sees its own traffic anyway)
    cmd = ["timeout", f"{seconds:g}", "tcpdump", "-U", "-n", "-p", "-w", "-", "-i", interface]
    if count is not None:
        cmd += ["-c", str(count)]
    if snaplen is not None:
        cmd += ["-s", str(snaplen)]
    if bpf:
        cmd.append(bpf)
    script = f'echo "{PID_MARK}$$" >&2; exec ' + " ".join(shlex.quote(a) for a in cmd)
    return ["sh", "-c", script]


@dataclass
class PcapStreamWriter:
    """Feed it chunks of a pcap stream; it writes complete records only and counts them."""

    out: BinaryIO
    flush_each: bool = False  # stdout into `wireshark -k -i -`: every record as soon as it is complete
    packets: int = 0
    bytes: int = 0  # captured bytes of the records written
    valid: int = 0  # bytes of `out` that form a valid pcap (header + complete records)
    dropped: int = 0  # bytes of a partial trailing record discarded at the end
    linktype: int | None = None
    _buf: bytearray = field(default_factory=bytearray)
    _hdr: struct.Struct | None = None

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._buf += chunk
        buf = self._buf
        pos = 0
        if self._hdr is None:
            if len(buf) < PCAP_HEADER_LEN:
                if len(buf) >= 4 and bytes(buf[:4]) not in PCAP_MAGICS:
                    raise StreamError(self._not_pcap(buf))
                return
            endian = PCAP_MAGICS.get(bytes(buf[:4]))
            if endian is None:
                raise StreamError(self._not_pcap(buf))
            self._hdr = struct.Struct(endian + "IIII")
            self.linktype = struct.unpack_from(endian + "I", buf, 20)[0] & 0xFFFF
            pos = PCAP_HEADER_LEN
        unpack = self._hdr.unpack_from
        n = len(buf)
        packets = 0
        captured = 0
        while n - pos >= RECORD_HEADER_LEN:
            incl = unpack(buf, pos)[2]
            if incl > MAX_RECORD:
                raise StreamError(f"pcap stream damaged after {self.packets + packets} packets: a record claims "
                                  f"{incl} captured bytes")
            end = pos + RECORD_HEADER_LEN + incl
            if end > n:
                break
            pos = end
            packets += 1
            captured += incl
        if pos > 0:
            self.out.write(buf[:pos])
            self.valid += pos
            self.packets += packets
            self.bytes += captured
            del buf[:pos]
            if self.flush_each:
                self.out.flush()

    @staticmethod
    def _not_pcap(buf: bytearray) -> str:
        text = bytes(buf[:80]).decode("utf-8", "replace").strip().splitlines()
        shown = text[0] if text else bytes(buf[:8]).hex()
        return f"the capture did not start with a pcap header (got {shown!r})"

    def finish(self) -> None:
        """End of stream: drop a partial trailing record, flush, and cut the file to its valid length."""
        self.dropped = len(self._buf)
        self._buf.clear()
        try:
            self.out.flush()
        except (OSError, ValueError):
            return
        if self.out.seekable():
            try:
                if self.out.tell() != self.valid:
                    self.out.truncate(self.valid)
            except OSError:
                pass

    @property
    def started(self) -> bool:
        return self._hdr is not None


class AtomicPcapFile:
    """A hidden temporary next to PATH while streaming, renamed to PATH at the end — only if it holds a pcap
    header (ambientctl.outfile: never over an existing file without --force, never through a link)."""

    def __init__(self, path: str, force: bool = False):
        from ambientctl.outfile import AtomicFile, check_target

        self.path = path
        self._out = AtomicFile(check_target(path, "-w", force=force, stream_ok=False))
        self.part = self._out.tmp
        self.f: BinaryIO = self._out.f

    def close(self, keep: bool) -> bool:
        if keep:
            self._out.commit()
            return True
        self._out.discard()
        return False


@dataclass
class StreamState:
    """What one capture point's stream did; read by the progress display while it runs."""

    name: str
    writer: PcapStreamWriter
    started_at: float = 0.0
    ended_at: float = 0.0
    done: bool = False
    error: str = ""
    stderr: list[str] = field(default_factory=list)
    remote_pid: int | None = None

    def note_stderr(self, text: str) -> None:
        for line in text.splitlines():
            if line.startswith(PID_MARK):
                with contextlib.suppress(ValueError):
                    self.remote_pid = int(line[len(PID_MARK):].strip())
                continue
            if line.strip():
                self.stderr.append(line.strip())
                del self.stderr[:-20]  # the last lines are the ones that explain a failure


def pump(source: ByteSource, state: StreamState, stop: threading.Event, poll: float = 0.2,
         stderr_of: Callable[[], str] | None = None) -> None:
    """Copy the source into the writer until the source ends or `stop` is set; never raises."""
    state.started_at = time.monotonic()
    try:
        while not stop.is_set():
            chunk = source.read(poll)
            if stderr_of is not None:
                state.note_stderr(stderr_of())
            if chunk is None:
                break
            if chunk:
                state.writer.feed(chunk)
    except StreamError as e:
        state.error = str(e)
    except OSError as e:
        state.error = f"writing the capture failed: {e.strerror or e}"
    except Exception as e:  # the transport (websocket) failing must not kill the other streams
        state.error = f"{type(e).__name__}: {e}"
    finally:
        if stderr_of is not None:
            with contextlib.suppress(Exception):
                state.note_stderr(stderr_of())
        state.writer.finish()
        state.ended_at = time.monotonic()
        state.done = True
        with contextlib.suppress(Exception):
            source.close()


def explain_tcpdump_failure(lines: list[str]) -> str:
    """tcpdump's stderr as one actionable sentence (empty when nothing there looks like a failure)."""
    text = " ".join(lines)
    low = text.lower()
    if "permission" in low or "operation not permitted" in low:
        return (f"tcpdump may not capture ({_last(lines)}): the capture container needs NET_RAW (and NET_ADMIN "
                "for promiscuous mode) and must run as root")
    if any(k in low for k in ("syntax error", "can't parse filter", "illegal", "unknown port", "unknown host",
                              "unknown network", "expression rejects")):
        return f"tcpdump rejected the filter: {_last(lines)}"
    if "no such device" in low or "doesn't exist" in low:
        return f"no such interface in the pod: {_last(lines)}"
    if "not found" in low or "no such file" in low:
        return f"the capture image lacks a tool: {_last(lines)} (tcpdump, timeout and sh are needed)"
    failures = [ln for ln in lines if ln.startswith("tcpdump: ") and "listening on" not in ln]
    return f"tcpdump failed: {failures[-1]}" if failures else ""


def _last(lines: list[str]) -> str:
    interesting = [ln for ln in lines if not ln.startswith(("listening on", "tcpdump: listening"))]
    return (interesting or lines or [""])[-1]
