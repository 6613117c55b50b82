"""What each fuzz target feeds the CLI: a strategy for one input and the commands run on it. Shared by the
bounded tests (test_fuzz.py, in `make test`) and the unbounded run (run.py --minutes N).

Every target is `Target(name, strategy, check)`: `check(example)` writes the input into a fresh temporary
directory, runs the real CLI entry on it and returns '' or what went wrong (see harness.judge).
"""

from __future__ import annotations

import json
import re
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from tests.fuzz import strategies as fs
from tests.fuzz.harness import judge, run_cli

REPO = fs.REPO
REALDATA = REPO / "tests" / "realdata"
TRACES = REPO / "ambientctl" / "demo" / "traces"


@dataclass(frozen=True)
class Target:
    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], str]


def _run(files: dict[str, bytes], argv: list[str], allowed: tuple[int, ...] = (0, 1, 2, 3)) -> str:
    """Write `files` into a fresh directory, run `argv` ({dir} replaced by it) there and judge the outcome."""
    with tempfile.TemporaryDirectory(prefix="ambientctl-fuzz-") as d:
        for name, data in files.items():
            p = Path(d) / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        o = run_cli([a.replace("{dir}", d) for a in argv], Path(d))
        problem = judge(o, allowed)
        if not problem:
            return ""
        global LAST_INPUT
        LAST_INPUT = dict(files)
        return problem.replace(d, "{dir}") + f"\nargv: {argv}"


LAST_INPUT: dict[str, bytes] = {}  # the files of the last input that had a problem (run.py keeps them)


# --- manifests ---------------------------------------------------------------------------------------------------

MANIFEST_COMMANDS = [
    ["describe", "pod", "productpage-v1"],
    ["describe", "pod", "sleep", "-o", "json"],
    ["explain", "sleep", "productpage:9080"],
    ["explain", "sleep", "productpage", "--method", "DELETE", "-o", "json"],
    ["explain", "notsleep", "reviews:9080", "-o", "yaml"],
    ["explain", "--matrix", "-n", "default"],
]


def _check_manifests(x: Any) -> str:
    (data, fmt, what), argv = x
    problem = _run({f"cluster.{fmt}": data}, [*argv, "--snapshot", f"{{dir}}/cluster.{fmt}"])
    return f"{problem}\nmutated: {what}" if problem else ""


MANIFESTS = Target("manifests", st.tuples(fs.mutated_cluster(), st.sampled_from(MANIFEST_COMMANDS)),
                   _check_manifests)


# --- ztunnel config dumps and local config (--snapshot) ------------------------------------------------------------

@cache
def config_dumps() -> tuple[tuple[str, Any], ...]:
    import yaml

    out = [(p.name, json.loads(p.read_text())) for p in sorted((REALDATA / "istio-istio" / "ztunnel-configdump")
                                                                .glob("*/*.json"))]
    out += [(p.name, yaml.safe_load(p.read_text())) for p in (REALDATA / "istio-ztunnel" / "local-config")
            .glob("*.yaml")]
    return tuple(out)


DUMP_COMMANDS = [["explain", "--matrix", "-n", "default"], ["describe", "pod", "x"],
                 ["explain", "--matrix", "-n", "default", "-o", "json"]]


@st.composite
def _dump(draw: st.DrawFn) -> tuple[bytes, str]:
    name, doc = draw(st.sampled_from(config_dumps()))
    return fs.dump_json(draw(fs.json_mutation(doc, 4))), name


def _check_dump(x: Any) -> str:
    (data, name), argv = x
    problem = _run({"dump.json": data}, [*argv, "--snapshot", "{dir}/dump.json"])
    return f"{problem}\nmutated: {name}" if problem else ""


CONFIG_DUMPS = Target("config-dumps", st.tuples(_dump(), st.sampled_from(DUMP_COMMANDS)), _check_dump)


# --- logs ---------------------------------------------------------------------------------------------------------

@cache
def log_files() -> tuple[tuple[str, tuple[bytes, ...]], ...]:
    files = [p for p in (REALDATA / "github-issues").glob("*.log*")] + \
        [p for p in (REALDATA / "istio-io-docs").glob("*.log")] + sorted(TRACES.glob("*/*.log"))
    files += list((REALDATA / "github-issues").glob("*.jsonl"))
    return tuple((p.name, tuple(p.read_bytes().splitlines())) for p in sorted(files) if p.stat().st_size)


NUMBER = re.compile(rb"\d+(\.\d+)?")
NASTY_NUMBERS = [b"inf", b"nan", b"-inf", b"NaN", b"Infinity", b"1e999", b"-1", b"", b"99999999999999999999999999",
                 b"0x10", b"1_000", b"\xd9\xa3", b"3.4.5"]


@st.composite
def log_mutation(draw: st.DrawFn) -> tuple[bytes, str]:
    name, lines = draw(st.sampled_from(log_files()))
    lines = list(lines)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        op = draw(st.sampled_from(["json", "json", "number", "number", "token", "nul", "cut", "escape", "long",
                                   "bytes", "dup", "drop"]))
        if op == "json" and line.lstrip().startswith(b"{"):
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            lines[i] = fs.dump_json(draw(fs.json_mutation(doc, 3)))
        elif op == "number":
            nums = list(NUMBER.finditer(line))
            if nums:
                m = nums[draw(st.integers(0, len(nums) - 1))]
                lines[i] = line[:m.start()] + draw(st.sampled_from(NASTY_NUMBERS)) + line[m.end():]
        elif op == "token":
            toks = line.split(b" ")
            j = draw(st.integers(0, len(toks) - 1))
            toks[j] = draw(fs.nasty_text).encode("utf-8", "surrogatepass")
            lines[i] = b" ".join(toks)
        elif op in ("nul", "escape", "bytes"):
            at = draw(st.integers(0, len(line)))
            ins = {"nul": b"\x00", "escape": "\x1b[2J\x1b]0;x\x07\u202e\x9b".encode(),
                   "bytes": draw(st.binary(min_size=1, max_size=6))}[op]
            lines[i] = line[:at] + ins + line[at:]
        elif op == "cut":
            lines[i] = line[:draw(st.integers(0, len(line)))]
        elif op == "long":
            lines[i] = (line * 2000)[:300_000]
        elif op == "dup":
            lines.insert(i, line)
        elif len(lines) > 1:
            del lines[i]
    sep = draw(st.sampled_from([b"\n", b"\n", b"\r\n", b"\r"]))
    data = sep.join(lines) + sep
    if draw(st.integers(0, 19)) == 0:
        data = data.decode("utf-8", "replace").encode("utf-16")
    return data, name


LOG_COMMANDS = [["logs", "parse"], ["logs", "parse", "-o", "json"], ["logs", "parse", "--events"]]


def _check_logs(x: Any) -> str:
    (data, name), argv = x
    problem = _run({"z.log": data}, [*argv, "{dir}/z.log"], allowed=(0, 1))
    return f"{problem}\nmutated: {name}" if problem else ""


LOGS = Target("logs", st.tuples(log_mutation(), st.sampled_from(LOG_COMMANDS)), _check_logs)


# --- captures -----------------------------------------------------------------------------------------------------

def record_offsets(data: bytes) -> list[int]:
    """Offsets of record/block headers (and their length fields) in a pcap or pcapng file."""
    out = [0]
    if data[:4] == b"\x0a\x0d\x0d\x0a":  # pcapng: every block starts with type, total length
        bo = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        at = 0
        while at + 12 <= len(data):
            out += [at, at + 4, at + 8]
            (n,) = struct.unpack_from(bo + "I", data, at + 4)
            if n < 12:
                break
            at += n
        return out
    if len(data) >= 24:
        bo = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        out += [4, 16, 20]
        at = 24
        while at + 16 <= len(data):
            out += [at, at + 8, at + 12]
            (n,) = struct.unpack_from(bo + "I", data, at + 8)
            at += 16 + n
    return out


@cache
def captures() -> tuple[tuple[str, bytes, tuple[int, ...]], ...]:
    files = sorted(TRACES.glob("*/*.pcap")) + sorted((REALDATA / "pcaps").glob("*/*.pcap*"))
    out = []
    for p in files:
        data = p.read_bytes()
        if 24 < len(data) < 200_000:
            out.append((p.name, data, tuple(record_offsets(data))))
    return tuple(out)


@st.composite
def capture_mutation(draw: st.DrawFn) -> tuple[bytes, str]:
    name, data, offsets = draw(st.sampled_from(captures()))
    return draw(fs.bytes_mutation(data, list(offsets))), name


CAPTURE_COMMANDS = [["decode"], ["decode", "-o", "json"]]


def _check_capture(x: Any) -> str:
    (data, name), argv = x
    suffix = ".pcapng" if name.endswith(".pcapng") else ".pcap"
    problem = _run({"c" + suffix: data}, [*argv, "{dir}/c" + suffix])
    return f"{problem}\nmutated: {name}" if problem else ""


CAPTURES = Target("captures", st.tuples(capture_mutation(), st.sampled_from(CAPTURE_COMMANDS)), _check_capture)


# --- saved traces (trace --from) -------------------------------------------------------------------------------

@cache
def saved_trace() -> tuple[tuple[str, bytes], ...]:
    """A trace saved with --keep from the bundled recording (made once per process)."""
    d = Path(tempfile.mkdtemp(prefix="ambientctl-fuzz-saved-"))
    o = run_cli(["trace", "--demo", "bookinfo-l4", "notsleep", "productpage:9080", "--keep", str(d / "t"),
                 "-o", "json"], d)
    assert o.code == 3 and not o.crash, (o.code, o.stderr, o.crash)
    files = tuple((p.name, p.read_bytes()) for p in sorted((d / "t").iterdir()))
    import shutil

    shutil.rmtree(d)
    return files


@st.composite
def saved_trace_mutation(draw: st.DrawFn) -> tuple[dict[str, bytes], str]:
    files = dict(saved_trace())  # made before generation starts (tests: a fixture; run.py: main)
    name = draw(st.sampled_from(["trace.json", "trace.json", "trace.json", "manifest.json", "recording.json"]))
    files[name] = fs.dump_json(draw(fs.json_mutation(json.loads(files[name]), 4)))
    return files, name


TRACE_COMMANDS = [["trace", "--from", "{dir}/t", "-o", "json"], ["trace", "--from", "{dir}/t"],
                  ["trace", "--from", "{dir}/t", "-o", "yaml"]]


def _check_saved(x: Any) -> str:
    (files, name), argv = x
    problem = _run({f"t/{k}": v for k, v in files.items()}, argv)
    return f"{problem}\nmutated: {name}" if problem else ""


SAVED_TRACES = Target("saved-traces", st.tuples(saved_trace_mutation(), st.sampled_from(TRACE_COMMANDS)),
                      _check_saved)

TARGETS = {t.name: t for t in (MANIFESTS, CONFIG_DUMPS, LOGS, CAPTURES, SAVED_TRACES)}
