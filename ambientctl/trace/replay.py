"""Recorded evidence on disk: the demo recordings bundled in ambientctl/demo/traces/ (built by
scripts/make_demo_traces.py from the HBONE lab's real captures) and traces saved with `trace --keep DIR`. Both
use one layout — recording.json (the request, captures and logs it lists), the pcaps/key logs/logs themselves —
and a saved trace adds trace.json and, written last, manifest.json."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ambientctl.errors import InputError, file_error, no_such_file
from ambientctl.evidence import LogEvent, parse_log_lines
from ambientctl.outfile import Target, check_target, output_directory
from ambientctl.trace.build import CaptureEvidence

MANIFEST = "manifest.json"


@dataclass
class Recording:
    root: Path
    meta: dict[str, Any]
    captures: list[CaptureEvidence] = field(default_factory=list)
    events: list[LogEvent] = field(default_factory=list)
    log_files: dict[str, Path] = field(default_factory=dict)  # source -> file

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or self.root.name)


def demo_root() -> Path:
    return Path(str(resources.files("ambientctl.demo") / "traces"))


def demo_index() -> list[dict[str, Any]]:
    path = demo_root() / "index.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise no_such_file(path, "saved trace") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not readable JSON ({e})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a JSON object")
    return doc


def load_recording(root: Path, decode: bool = True, progress=None) -> Recording:  # type: ignore[no-untyped-def]
    """Read recording.json and decode what it lists. A capture that cannot be decoded is kept with its error
    (the trace reports it as missing evidence) rather than failing the whole trace."""
    from ambientctl.decode import DecodeError, decode_file

    meta = _read_json(root / "recording.json")
    rec = Recording(root, meta)
    for c in meta.get("captures") or []:
        if not isinstance(c, dict) or "file" not in c:
            raise InputError(f"{root / 'recording.json'}: each capture needs a 'file'")
        ce = CaptureEvidence(file=c["file"], pod=c.get("pod", ""), interface=c.get("interface", "eth0"),
                             leg=c.get("leg", ""), keylog=c.get("keylog"))
        if decode:
            if progress:
                progress(f"decoding {c['file']}")
            try:
                ce.result = decode_file(str(root / c["file"]), str(root / c["keylog"]) if c.get("keylog") else None)
            except (DecodeError, OSError) as e:
                ce.error = str(e)
        rec.captures.append(ce)
    for entry in meta.get("logs") or []:
        path = root / entry["file"]
        source = entry.get("source") or path.stem
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as e:
            raise file_error(path, e, "log") from None
        rec.log_files[source] = path
        rec.events += parse_log_lines(lines, source)
    return rec


def log_roles(sources: list[str], explanation: dict[str, Any]) -> dict[str, str]:
    """Which hop each log came from (its pod name starts with the hop's workload/gateway name)."""
    roles: dict[str, str] = {}
    for s in sources:
        for h in explanation.get("hops") or []:
            name = str(h.get("name") or "").split("/")[-1]
            if name and (s == name or s.startswith(name + "-")) and h["component"] != "client":
                roles.setdefault(s, h["component"])
        if s not in roles and "waypoint" in s:
            roles[s] = "waypoint"
    return roles


def artifacts_of(rec: Recording, directory: str | None = None) -> dict[str, Any]:
    """The evidence files, named relative to `directory` (where they are kept; default the recording)."""
    files: list[dict[str, Any]] = []
    for c in rec.captures:
        files.append({"kind": "pcap", "file": c.file, "pod": c.pod, "interface": c.interface, "leg": c.leg})
        if c.keylog:
            files.append({"kind": "keylog", "file": c.keylog, "for": c.file})
    for source, path in rec.log_files.items():
        files.append({"kind": "log", "file": path.name, "source": source})
    return {"directory": directory if directory is not None else str(rec.root), "files": files}


def missing_of(rec: Recording) -> list[str]:
    out = [f"capture {c.file}: {c.error}" for c in rec.captures if c.error]
    return out


def save_trace(dest: Path | Target, rec: Recording, doc: dict[str, Any]) -> Path:
    """Copy the evidence and write trace.json, then manifest.json last, so a directory with a manifest is a
    complete saved trace. Written through ambientctl.outfile: a hidden temporary sibling directory renamed into
    place (a non-empty DEST only with --force); nothing is left behind on failure or Ctrl-C."""
    target = dest if isinstance(dest, Target) else check_target(str(dest), "--keep", directory=True)
    with output_directory(target) as tmp:
        files = []
        for c in rec.captures:
            for name in [c.file, c.keylog]:
                if name and (rec.root / name).exists():
                    shutil.copyfile(rec.root / name, tmp / name)
                    files.append(name)
        logs = []
        for source, path in rec.log_files.items():
            shutil.copyfile(path, tmp / path.name)
            files.append(path.name)
            logs.append({"file": path.name, "source": source})
        meta = dict(rec.meta, logs=logs)
        (tmp / "recording.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        (tmp / "trace.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        manifest = {"kind": "SavedTrace", "files": [*files, "recording.json", "trace.json"]}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return Path(target.absolute)


def open_saved(root: Path) -> dict[str, Any]:
    """The Trace document of a directory written by `--keep`."""
    if not root.exists():
        raise no_such_file(root, "saved trace")
    if not root.is_dir():
        raise InputError("not a directory: a saved trace is the directory written by trace --keep", where=str(root))
    manifest = _read_json(root / MANIFEST) if (root / MANIFEST).exists() else None
    if manifest is None or manifest.get("kind") != "SavedTrace":
        raise InputError(f"no {MANIFEST} of a saved trace (incomplete or not made by trace --keep)", where=str(root))
    for f in manifest.get("files") or []:
        if not (root / f).exists():
            raise InputError(f"{f} is listed in {MANIFEST} but missing", where=str(root))
    doc = _read_json(root / "trace.json")
    if doc.get("kind") != "Trace":
        raise InputError("trace.json is not a Trace document", where=str(root))
    return doc
