"""Writes never lose a user's file (issue #13 "Data loss"): every command that writes goes through
ambientctl.outfile, and every kind of output path × every writing command that runs without a cluster is
generated here: an existing path only with --force, never through a symbolic link, onto a device/FIFO/directory
or onto the command's own input, and no temporary left behind — on errors, Ctrl-C and SIGTERM alike.
(`snapshot save` and `capture -w` need a cluster after their path check: tests/live/test_writes_live.py.)"""

from __future__ import annotations

import os
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ambientctl.cli.main import main
from ambientctl.errors import InputError, UsageError
from ambientctl.outfile import check_target, open_output, output_directory

KINDS = ("missing", "file", "empty-dir", "dir", "link-to-file", "dangling-link", "link-to-dir", "fifo", "device",
         "input", "hardlink-to-input", "missing-parent")
KEEP = b"the user's data\n"


def _capture(realdata: Path) -> Path:
    return realdata / "pcaps" / "grpc-h2-tls13" / "wireshark_capture.pcapng"


def make(kind: str, d: Path, name: str, input_file: Path) -> Path:
    """An output path of `kind` in directory `d` (what the user points the command at)."""
    p = d / name
    if kind == "file":
        p.write_bytes(KEEP)
    elif kind == "empty-dir":
        p.mkdir()
    elif kind == "dir":
        p.mkdir()
        (p / "x").write_bytes(KEEP)
    elif kind == "link-to-file":
        (d / "real").write_bytes(KEEP)
        p.symlink_to(d / "real")
    elif kind == "dangling-link":
        p.symlink_to(d / "nowhere")
    elif kind == "link-to-dir":
        (d / "realdir").mkdir()
        p.symlink_to(d / "realdir")
    elif kind == "fifo":
        os.mkfifo(p)
    elif kind == "device":  # a copy of /dev/null's node: harmless if written, but it must not be replaced
        os.mknod(p, 0o666 | stat.S_IFCHR, os.makedev(1, 3)) if os.geteuid() == 0 else p.symlink_to("/dev/zero")
    elif kind == "input":
        return input_file
    elif kind == "hardlink-to-input":
        os.link(input_file, p)
    elif kind == "missing-parent":
        return d / "no-such-dir" / name
    return p


def snapshot_of(d: Path) -> dict[str, tuple]:
    """Every entry under d with what it is (to prove a refused write changed nothing)."""
    out = {}
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = Path(root, n)
            st_ = p.lstat()
            content = p.read_bytes() if stat.S_ISREG(st_.st_mode) else os.readlink(p) if p.is_symlink() else None
            out[str(p.relative_to(d))] = (stat.S_IFMT(st_.st_mode), st_.st_ino, content)
    return out


def expected(kind: str, force: bool, directory: bool) -> bool:
    """Whether the write may happen."""
    if kind == "missing":
        return True
    if kind == "file":
        return force and not directory
    if kind == "empty-dir":
        return directory
    if kind == "dir":
        return directory and force
    return False  # links, FIFOs, devices, the input, a missing parent: never


def _commands(realdata: Path, d: Path) -> dict:
    cap = d / "in.pcapng"
    cap.write_bytes(_capture(realdata).read_bytes())
    return {
        "decode --export-pcapng": (["decode", str(cap), "-o", "json", "--export-pcapng"], False, cap),
        "bundle -w": (["bundle", "productpage-v1", "--demo", "-w"], False, cap),
        "trace --keep": (["trace", "--demo", "-o", "json", "--keep"], True, cap),
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(KINDS), force=st.booleans(),
       command=st.sampled_from(["decode --export-pcapng", "bundle -w", "trace --keep"]))
def test_every_output_path_kind_for_every_writing_command(realdata, capsys, kind, force, command) -> None:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        argv, directory, input_file = _commands(realdata, d)[command]
        if kind in ("input", "hardlink-to-input") and command != "decode --export-pcapng":
            kind = "missing"  # these commands read no local file here
        name = "out.tar.gz" if command == "bundle -w" else "out.pcapng" if not directory else "saved"
        path = make(kind, d, name, input_file)
        before = snapshot_of(d)
        code = main([*argv, str(path)] + (["--force"] if force else []))
        _, err = capsys.readouterr()
        assert "Traceback" not in err
        leftovers = [p for p in d.rglob("*") if p.name.endswith((".partial", ".old"))]
        assert leftovers == []
        if expected(kind, force, directory):
            assert code in (0, 3), err  # trace --demo: 3 when the replayed request was denied
            assert path.exists() and not path.is_symlink()
            assert (path / "manifest.json").is_file() if directory else path.stat().st_size > 0
        else:
            assert code in (1, 2)
            lines = [ln for ln in err.splitlines() if ln.startswith("ambientctl: ") and "warning" not in ln]
            assert len(lines) == 1 and str(path) in lines[0], err
            assert snapshot_of(d) == before  # nothing changed, nothing added


@pytest.mark.parametrize("name", ["-", "/dev/stdout", "/dev/fd/1"])
def test_stdout_is_the_stream_the_user_named(name: str, tmp_path: Path) -> None:
    t = check_target(name, "-o")
    assert t.is_stream and t.stream == 1
    with pytest.raises(UsageError, match="needs a directory"):
        check_target(name, "--keep", directory=True)
    with pytest.raises(UsageError, match="needs a file"):
        check_target(name, "--export-pcapng", stream_ok=False)


def test_dev_stdout_is_written_not_replaced(tmp_path: Path) -> None:
    """`-o /dev/stdout` as root once replaced the device node: now the bytes go down the stream."""
    code = ("from ambientctl.outfile import check_target, write_output\n"
            "write_output(check_target('/dev/stdout', '-o'), b'hello')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert r.stdout == b"hello"
    assert Path("/dev/stdout").is_symlink() or Path("/dev/stdout").is_char_device()


@pytest.mark.parametrize("empty", ["", " "])
def test_empty_output_argument_is_a_usage_error(empty: str) -> None:
    with pytest.raises(UsageError, match="needs a path"):
        check_target(empty, "-o")


def test_existing_file_refused_then_replaced_with_force(tmp_path: Path) -> None:
    p = tmp_path / "snap.yaml"
    p.write_bytes(KEEP)
    with pytest.raises(InputError, match=r"already exists \(--force replaces it\)"):
        check_target(str(p), "-o")
    with open_output(check_target(str(p), "-o", force=True)) as f:
        f.write(b"new")
    assert p.read_bytes() == b"new" and sorted(x.name for x in tmp_path.iterdir()) == ["snap.yaml"]


def test_file_that_appears_during_the_write_is_not_replaced(tmp_path: Path) -> None:
    p = tmp_path / "out.yaml"
    t = check_target(str(p), "-o")
    with pytest.raises(InputError, match="already exists"), open_output(t) as f:
        f.write(b"ours")
        p.write_bytes(KEEP)  # someone else created it meanwhile
    assert p.read_bytes() == KEEP and [x.name for x in tmp_path.iterdir()] == ["out.yaml"]


def test_an_exception_inside_the_write_leaves_nothing(tmp_path: Path) -> None:
    for target in (check_target(str(tmp_path / "f"), "-o"),):
        with pytest.raises(KeyboardInterrupt), open_output(target) as f:
            f.write(b"half")
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt), output_directory(check_target(str(tmp_path / "d"), "-o",
                                                                         directory=True)) as d:
        (d / "x").write_bytes(b"half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_directory_replaced_only_with_force_and_atomically(tmp_path: Path) -> None:
    d = tmp_path / "saved"
    d.mkdir()
    (d / "old").write_bytes(KEEP)
    with pytest.raises(InputError, match="not empty"):
        check_target(str(d), "--keep", directory=True)
    with output_directory(check_target(str(d), "--keep", directory=True, force=True)) as tmp:
        (tmp / "new").write_bytes(b"n")
    assert [p.name for p in d.iterdir()] == ["new"] and [p.name for p in tmp_path.iterdir()] == ["saved"]


def test_new_files_get_the_umask_mode_not_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with open_output(check_target(str(tmp_path / "f"), "-o")) as f:
            f.write(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o644


def _big_pcap(path: Path, packets: int) -> None:
    """A classic pcap of `packets` small TCP segments (big enough that exporting it takes a while)."""
    eth = b"\x00" * 12 + b"\x08\x00"
    ip = bytes.fromhex("450000280000400040060000") + bytes([10, 0, 0, 1, 10, 0, 0, 2])
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, 0x50, 0x10, 65535, 0, 0)
    frame = eth + ip + tcp
    rec = struct.pack("<IIII", 1, 0, len(frame), len(frame)) + frame
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        f.write(rec * packets)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_export_leaves_no_temp_file(tmp_path: Path, sig: int) -> None:
    """Ctrl-C (or a SIGTERM) during `decode --export-pcapng` once left a hidden 41 MB temp file."""
    src = tmp_path / "big.pcap"
    _big_pcap(src, 400_000)
    out = tmp_path / "out.pcapng"
    proc = subprocess.Popen([sys.executable, "-m", "ambientctl", "decode", str(src), "-o", "json",
                             "--export-pcapng", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.name.endswith(".partial") for p in tmp_path.iterdir()):
            break
        time.sleep(0.002)
    assert proc.poll() is None, "the export ended before it could be interrupted"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert err.decode().strip().count("\n") == 0 and b"Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.pcap"]
