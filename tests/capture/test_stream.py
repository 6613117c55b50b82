"""The stream writer keeps every file a valid pcap: real captures fed in chunks of random sizes and cut at random
points, a write interrupted half-way, text instead of pcap, and a real tcpdump (the exact command ambientctl runs
in pods) streaming from the loopback of a network namespace this test creates."""

from __future__ import annotations

import io
import os
import random
import secrets
import select
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from ambientctl.capture.stream import (
    AtomicPcapFile,
    PcapStreamWriter,
    StreamError,
    StreamState,
    pump,
    tcpdump_command,
)
from ambientctl.decode.capfile import CaptureReader

REPO = Path(__file__).resolve().parents[2]
CAPTURES = sorted(p for p in (REPO / "tests" / "lab" / "recorded").glob("*.pcap") if p.stat().st_size > 200)


def _records(path: Path) -> tuple[int, list[str]]:
    r = CaptureReader(str(path))
    n = sum(1 for _ in r.records())
    return n, r.warnings


def _tshark_count(path: Path) -> int:
    if shutil.which("tshark") is None:
        pytest.skip("tshark not found (Debian package tshark; run scripts/install-system-deps)")
    out = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "cut short" not in out.stderr and "appears to be damaged" not in out.stderr, out.stderr
    return len(out.stdout.split())


@pytest.mark.parametrize("capture", CAPTURES[:4], ids=lambda p: p.name)
def test_random_chunks_reproduce_the_capture_exactly(capture: Path, tmp_path: Path) -> None:
    data = capture.read_bytes()
    rng = random.Random(capture.name)
    out = tmp_path / "out.pcap"
    with open(out, "wb") as f:
        w = PcapStreamWriter(f)
        pos = 0
        while pos < len(data):
            n = rng.choice([1, 2, 3, 15, 16, 17, 23, 24, 25, rng.randint(1, 4000)])
            w.feed(data[pos:pos + n])
            pos += n
        w.finish()
    assert out.read_bytes() == data
    n, warnings = _records(capture)
    assert (w.packets, w.dropped, warnings) == (n, 0, [])
    assert w.linktype == CaptureReader(str(capture)).records().__next__()[2]


@pytest.mark.parametrize("seed", range(12))
def test_cut_anywhere_leaves_a_valid_pcap(seed: int, tmp_path: Path) -> None:
    capture = CAPTURES[seed % len(CAPTURES)]
    data = capture.read_bytes()
    rng = random.Random(seed)
    cut = rng.randint(25, len(data) - 1)
    out = tmp_path / "cut.pcap"
    with open(out, "wb") as f:
        w = PcapStreamWriter(f)
        pos = 0
        while pos < cut:
            n = min(rng.randint(1, 700), cut - pos)
            w.feed(data[pos:pos + n])
            pos += n
        w.finish()
    written = out.read_bytes()
    assert data.startswith(written)
    assert len(written) + w.dropped == cut
    n, warnings = _records(out)
    assert warnings == [] and n == w.packets
    assert _tshark_count(out) == w.packets
    if w.packets:
        from ambientctl.decode import decode_file

        assert decode_file(str(out)).warnings == []


class _ExplodingFile(io.BytesIO):
    """Writes half of a chunk, then raises KeyboardInterrupt (Ctrl-C in the middle of a write)."""

    def __init__(self, after: int):
        super().__init__()
        self.after = after
        self.writes = 0

    def write(self, b) -> int:  # type: ignore[no-untyped-def, override]
        self.writes += 1
        if self.writes == self.after:
            super().write(bytes(b)[: len(b) // 2])
            raise KeyboardInterrupt
        return super().write(b)


def test_ctrl_c_during_a_write_is_cut_back_to_complete_records(tmp_path: Path) -> None:
    data = CAPTURES[0].read_bytes()
    f = _ExplodingFile(after=3)
    w = PcapStreamWriter(f)
    with pytest.raises(KeyboardInterrupt):
        for i in range(0, len(data), 300):
            w.feed(data[i:i + 300])
    w.finish()
    assert f.getvalue() == data[: w.valid]
    p = tmp_path / "x.pcap"
    p.write_bytes(f.getvalue())
    assert _records(p) == (w.packets, [])


def test_text_instead_of_pcap_is_a_one_line_error() -> None:
    w = PcapStreamWriter(io.BytesIO())
    with pytest.raises(StreamError, match=r"did not start with a pcap header.*tcpdump: eth9"):
        w.feed(b"tcpdump: eth9: No such device exists\n(SIOCGIFHWADDR: No such device)\n")


def test_damaged_record_length_is_reported() -> None:
    data = CAPTURES[0].read_bytes()
    w = PcapStreamWriter(io.BytesIO())
    bad = data[:24] + b"\0" * 8 + (10_000_000).to_bytes(4, "little") * 2
    with pytest.raises(StreamError, match="claims 10000000 captured bytes"):
        w.feed(bad)


def test_atomic_file_appears_only_at_the_end(tmp_path: Path) -> None:
    target = tmp_path / "a.pcap"
    f = AtomicPcapFile(str(target))
    w = PcapStreamWriter(f.f)
    w.feed(CAPTURES[0].read_bytes())
    assert not target.exists() and Path(f.part).exists()
    w.finish()
    assert f.close(keep=w.started) and target.read_bytes() == CAPTURES[0].read_bytes()
    empty = AtomicPcapFile(str(tmp_path / "b.pcap"))
    assert not empty.close(keep=False)
    assert list(tmp_path.iterdir()) == [target]


def test_tcpdump_command_bounds_itself_and_quotes_the_filter() -> None:
    argv = tcpdump_command("eth0", "tcp port 15008 and host 10.0.0.1", duration=30, count=100)
    assert argv[:2] == ["sh", "-c"]
    assert "exec timeout 30 tcpdump -U -n -p -w - -i eth0 -c 100 'tcp port 15008 and host 10.0.0.1'" in argv[2]
    assert "timeout 60 tcpdump" in tcpdump_command("lo")[2]  # bounded even when no limit is given
    with pytest.raises(Exception, match="--duration"):
        tcpdump_command("lo", duration=0)


# --- real tcpdump in a network namespace -----------------------------------------------------------------------


class ProcessSource:
    """A local process's stdout as a ByteSource (what the Kubernetes exec stream is in a cluster)."""

    def __init__(self, argv: list[str]):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._err = b""

    def read(self, timeout: float) -> bytes | None:
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            return b""
        data = os.read(self.proc.stdout.fileno(), 65536)
        return data or None

    def stderr_text(self) -> str:
        r, _, _ = select.select([self.proc.stderr], [], [], 0)
        return os.read(self.proc.stderr.fileno(), 65536).decode() if r else ""

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def netns():
    if os.geteuid() != 0:
        pytest.skip("needs root for a network namespace and tcpdump")
    for tool in ("ip", "tcpdump", "timeout"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not found (run scripts/install-system-deps)")
    name = f"actl-{secrets.token_hex(3)}-cap"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode:
        pytest.skip(f"cannot create a network namespace: {made.stderr.strip()}")
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _traffic(ns: str, port: int, conns: int) -> None:
    """TCP connections on the namespace's loopback (a server and a client inside it)."""
    script = (
        "import socket,threading\n"
        f"s=socket.socket();s.bind(('127.0.0.1',{port}));s.listen()\n"
        "def srv():\n"
        f" for _ in range({conns}):\n"
        "  c,_=s.accept();c.sendall(c.recv(100)*50);c.close()\n"
        "t=threading.Thread(target=srv);t.start()\n"
        f"for i in range({conns}):\n"
        f" c=socket.create_connection(('127.0.0.1',{port}));c.sendall(b'hello-%d'%i)\n"
        " while c.recv(4096): pass\n"
        " c.close()\n"
        "t.join()\n"
    )
    subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", script], check=True, timeout=30)


def _stream(ns: str, argv: list[str], out: Path, stop: threading.Event) -> tuple[StreamState, threading.Thread]:
    src = ProcessSource(["ip", "netns", "exec", ns, *argv])
    f = open(out, "wb")  # noqa: SIM115 - closed by the test after the pump ends
    state = StreamState(out.name, PcapStreamWriter(f))
    t = threading.Thread(target=pump, args=(src, state, stop), kwargs={"stderr_of": src.stderr_text})
    t.start()
    state._file = f  # type: ignore[attr-defined]
    return state, t


def test_real_tcpdump_stream_ends_by_count(netns: str, tmp_path: Path) -> None:
    out = tmp_path / "lo.pcap"
    state, t = _stream(netns, tcpdump_command("lo", "tcp port 9099", duration=20, count=30), out,
                       threading.Event())
    time.sleep(1.0)  # tcpdump attaches to the interface
    _traffic(netns, 9099, 10)
    t.join(25)
    state._file.close()  # type: ignore[attr-defined]
    assert state.done and not state.error, state.error
    assert state.remote_pid is not None  # the shell reported the PID it exec'd into
    assert state.writer.packets == 30  # -c ended it inside the "pod"
    assert _records(out) == (30, []) and _tshark_count(out) == 30


def test_real_tcpdump_interrupted_mid_stream_leaves_a_valid_pcap(netns: str, tmp_path: Path) -> None:
    out = tmp_path / "lo.pcap"
    stop = threading.Event()
    state, t = _stream(netns, tcpdump_command("lo", "tcp port 9098", duration=20), out, stop)
    time.sleep(1.0)
    gen = threading.Thread(target=_traffic, args=(netns, 9098, 200))
    gen.start()
    deadline = time.monotonic() + 15
    while state.writer.packets < 50 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()  # Ctrl-C: the pump stops at once, whatever is in flight
    t.join(10)
    gen.join(30)
    state._file.close()  # type: ignore[attr-defined]
    assert state.done and state.writer.packets >= 50
    n, warnings = _records(out)
    assert warnings == [] and n == state.writer.packets == _tshark_count(out)
    assert out.stat().st_size == state.writer.valid


@pytest.mark.parametrize("bpf", ["tcp port nonsense", "tcp port and"])
def test_real_tcpdump_bad_filter_explained(netns: str, tmp_path: Path, bpf: str) -> None:
    from ambientctl.capture.stream import explain_tcpdump_failure

    out = tmp_path / "bad.pcap"
    state, t = _stream(netns, tcpdump_command("lo", bpf, duration=5), out, threading.Event())
    t.join(15)
    state._file.close()  # type: ignore[attr-defined]
    assert state.writer.packets == 0 and not state.writer.started
    assert "tcpdump rejected the filter" in explain_tcpdump_failure(state.stderr), state.stderr


def test_duration_ends_an_idle_capture(netns: str, tmp_path: Path) -> None:
    out = tmp_path / "idle.pcap"
    start = time.monotonic()
    state, t = _stream(netns, tcpdump_command("lo", "tcp port 9097", duration=1.5), out, threading.Event())
    t.join(15)
    state._file.close()  # type: ignore[attr-defined]
    assert state.done and time.monotonic() - start < 10
    assert state.writer.started and state.writer.packets == 0
    assert _records(out) == (0, [])
