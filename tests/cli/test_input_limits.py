"""Bounded inputs and arguments (issue #13 "Hangs" and "Tracebacks"): YAML alias bombs, very deep nesting,
huge files, archives that inflate to gigabytes and encrypted zips are refused with one line naming the file
before memory blows up; `--request-timeout 0|-1|nan|inf|garbage` and empty arguments (`--snapshot ""`) are
usage errors, never a fall-back to the live cluster."""

from __future__ import annotations

import shutil
import struct
import subprocess
import tarfile
import time
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambientctl.cli.main import main
from ambientctl.sources import files


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    _, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return code, lines[0]


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_yaml_alias_bomb_is_refused_naming_the_file(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "bomb.yaml"
    p.write_text(billion_laughs())
    started = time.monotonic()
    code, line = run(["describe", "pod", "x", "--snapshot", str(p)], capsys)
    assert code == 1 and str(p) in line and "alias bomb" in line
    assert time.monotonic() - started < 30  # a bound, not a benchmark: expanding it would take hours


def test_yaml_anchors_in_ordinary_use_still_load(tmp_path: Path) -> None:
    p = tmp_path / "anchors.yaml"
    p.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels: &l {x: 'a&b'}\n"
                 "  annotations: *l\n")
    c = files.load_snapshot(p)
    assert list(c.namespaces) == ["a"]


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000,
                                  "a:\n" + "".join(" " * (i + 1) + "a:\n" for i in range(3000)),
                                  "- " * 5000 + "x\n"], ids=["json-list", "json-object", "yaml-block", "yaml-seq"])
def test_very_deep_nesting_is_one_line(tmp_path: Path, capsys, text: str) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "deep.yaml"
    p.write_text(text)
    code, line = run(["describe", "pod", "x", "--snapshot", str(p)], capsys)
    assert code == 1 and str(p) in line


def test_endless_device_is_not_read_whole(capsys) -> None:  # type: ignore[no-untyped-def]
    code, line = run(["describe", "pod", "x", "--snapshot", "/dev/zero"], capsys)
    assert code == 1 and "/dev/zero" in line


def gzip_tar_bomb(path: Path, member: str, gib: float) -> None:
    """A real .tar.gz whose one member inflates to `gib` GiB of zeros, built from one compressed 1 MiB block
    repeated (a full flush resets the deflate state, so the blocks concatenate into a valid stream)."""
    size = int(gib * 1024) << 20
    info = tarfile.TarInfo(member)
    info.size = size
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(header) + c.flush(zlib.Z_FULL_FLUSH)
    mib = bytes(1 << 20)
    block = c.compress(mib) + c.flush(zlib.Z_FULL_FLUSH)
    n = size >> 20
    end = bytes(-size % 512 + 1024)
    tail = c.compress(end) + c.flush(zlib.Z_FINISH)
    crc = zlib.crc32(header)
    for _ in range(n):
        crc = zlib.crc32(mib, crc)
    crc = zlib.crc32(end, crc)
    total = len(header) + size + len(end)
    with path.open("wb") as f:
        f.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03" + head)
        for _ in range(n):
            f.write(block)
        f.write(tail + struct.pack("<II", crc & 0xFFFFFFFF, total & 0xFFFFFFFF))


@pytest.mark.parametrize("member", ["snapshot/pods.yaml", "pods.yaml"])
def test_small_archive_inflating_to_gigabytes_is_refused_before_reading(tmp_path: Path, capsys,  # type: ignore[no-untyped-def]
                                                                        member: str) -> None:
    p = tmp_path / "small.tar.gz"
    gzip_tar_bomb(p, member, 1.6)
    assert p.stat().st_size < 3 << 20  # about 1.6 MB on disk
    with tarfile.open(p) as t:  # a valid archive, really that big inside
        assert t.next().size == 1638 << 20  # type: ignore[union-attr]
    code, line = run(["describe", "pod", "x", "--snapshot", str(p)], capsys)
    assert code == 1 and str(p) in line and "inflates to 1,717,567,488 bytes" in line


@pytest.mark.skipif(shutil.which("zip") is None, reason="zip not installed")
def test_encrypted_zip_is_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "pods.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    subprocess.run(["zip", "-q", "-P", "secret", "s.zip", "pods.yaml"], cwd=tmp_path, check=True)
    code, line = run(["describe", "pod", "x", "--snapshot", str(tmp_path / "s.zip")], capsys)
    assert code == 1 and "s.zip" in line and "encrypted" in line


def test_zip_whose_directory_lies_about_the_size_reads_no_more(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import zipfile

    p = tmp_path / "s.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("pods.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n" + "#" * 10000)
    data = bytearray(p.read_bytes())
    cd = data.rindex(b"PK\x01\x02")
    data[cd + 24:cd + 28] = struct.pack("<I", 10)  # the central directory claims 10 bytes
    p.write_bytes(bytes(data))
    code, line = run(["describe", "pod", "x", "--snapshot", str(p)], capsys)
    assert code == 1 and str(p) in line


@settings(max_examples=40, deadline=None)
@given(value=st.one_of(st.sampled_from(["0", "-1", "nan", "inf", "-inf", "NaN", "1e400", "", " ", "soon", "10s",
                                        "0x10", "1e-400", "86401"]),
                       st.floats(max_value=0).map(repr), st.text(max_size=8).filter(lambda t: not _number(t))))
def test_bad_request_timeout_is_a_usage_error(value: str) -> None:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["describe", "pod", "x", "--request-timeout", value])
    assert code == 2 and "--request-timeout" in err.getvalue() and len(err.getvalue().strip().splitlines()) == 1


def _number(t: str) -> bool:
    try:
        return 0 < float(t) <= 86400
    except ValueError:
        return False


@pytest.mark.parametrize("argv", [
    ["describe", "pod", "x", "--snapshot", ""],
    ["describe", "pod", "x", "--snapshot="],
    ["explain", "a", "b", "--snapshot", " "],
    ["explain", "--matrix", "--demo", "-n", ""],
    ["describe", "pod", "x", "--kubeconfig", ""],
    ["describe", "pod", "x", "--context", ""],
    ["snapshot", "save", "-o", ""],
    ["decode", ""],
    ["trace", "--demo", "--keep", ""],
    ["bundle", "--demo", "-w", ""],
])
def test_empty_arguments_are_usage_errors_never_the_live_cluster(argv: list[str], capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/kubeconfig")  # were it read, the error would say so
    code, line = run(argv, capsys)
    assert code == 2 and "empty argument" in line and "/nonexistent" not in line


def test_corrupt_deflate_data_in_a_zip_is_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Found by the garbage run: a flipped byte in a zip member's deflate stream raised zlib.error."""
    import zipfile

    p = tmp_path / "s.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n" * 2000)
    data = bytearray(p.read_bytes())
    start = data.index(b"x.yaml") + len("x.yaml")  # the member's data follows its local header
    for i in range(start + 20, start + 60):
        data[i] ^= 0x5A
    p.write_bytes(bytes(data))
    code, line = run(["describe", "pod", "x", "--snapshot", str(p)], capsys)
    assert code == 1 and str(p) in line
