"""Recorded evidence on disk: the demo recordings bundled in ambientctl/demo/traces/ (built by
scripts/make_demo_traces.py from the HBONE lab's real captures) and traces saved with `trace --keep DIR`. Both
use one layout — recording.json (the request, captures and logs it lists), the pcaps/key logs/logs themselves —
and a saved trace adds trace.json and, written last, manifest.json."""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ambientctl.errors import InputError, file_error, no_such_file
from ambientctl.evidence import LogEvent, parse_log_lines
from ambientctl.model import schema as sc
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


def _read_json(path: Path, schema: sc.Field | None = None) -> dict[str, Any]:
    """A JSON object from a saved trace or recording; with `schema`, its fields are type-checked (on a copy: the
    document is returned as written, so `-o json` prints it exactly)."""
    from ambientctl.unicode import SURROGATE_ESCAPE, without_surrogates

    try:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text)
    except FileNotFoundError:
        raise no_such_file(path, "saved trace") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not readable JSON ({e})") from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply") from None
    except ValueError as e:  # a number of more than 4,300 digits
        raise InputError(f"{path}: not readable JSON ({str(e).split(';')[0]})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a JSON object, not {sc.describe(doc)}")
    if SURROGATE_ESCAPE.search(text):
        doc = without_surrogates(doc)
    if schema is not None:
        try:
            sc.check_depth(doc)
            sc.check(schema, copy.deepcopy(doc))
        except sc.SchemaError as e:
            raise InputError(f"{path}: {e}") from None
    return doc


# The fields of a saved Trace document that the report (text, the trace screen) reads; build.py writes them.
_S, _STRINGS = sc.Str(), sc.List(sc.Str())
_EVIDENCE = sc.Obj({"kind": _S, "source": _S, "text": _S, "summary": _S, "headers": sc.Map(sc.Scalar()),
                    "innerRequest": _S, "innerStatus": sc.Scalar(), "rule": sc.Int(), "capture": _S,
                    "policy": _S, "says": _STRINGS},
                   required=("kind",), post=lambda e: _evidence_needs(e))


def _evidence_needs(e: dict[str, Any]) -> None:
    need = {"log": ("source", "text"), "connect": ("summary",)}.get(e["kind"], ())
    for k in need:
        if k not in e:
            raise sc.SchemaError(f"({e['kind']} evidence) needs {k}")


_HOPS = sc.List(sc.Obj({"component": _S, "name": _S, "status": _S, "evidence": sc.List(_EVIDENCE)},
                       required=("component", "status", "evidence")))
TRACE = sc.Obj({
    "apiVersion": _S, "kind": _S,
    "explanation": sc.Obj({
        "verdict": _S, "path": _S, "enforcedBy": _S, "istioVersion": _S, "source": sc.Obj({"cluster": _S}),
        "hops": sc.List(sc.Obj({"component": _S, "name": _S}, required=("component",))),
        "policy": sc.Obj({"name": _S, "namespace": _S, "action": _S, "rules": sc.List(sc.Obj({}))}),
        "decidedBy": sc.Obj({}),
    }, required=("verdict",)),
    "observed": sc.Obj({"verdict": _S, "path": _S, "hops": _HOPS}, required=("verdict", "hops")),
    "agreement": sc.Obj({"result": _S, "disagreements": sc.List(sc.Obj(
        {"field": _S, "predicted": sc.Scalar(), "observed": sc.Scalar(), "suggestion": _S},
        required=("field", "suggestion"), present=("predicted", "observed")))}, required=("result", "disagreements")),
    "story": _STRINGS, "missing": _STRINGS, "notes": _STRINGS,
    "artifacts": sc.Obj({"directory": _S, "files": sc.List(sc.Obj(
        {"kind": _S, "file": _S, "pod": _S, "interface": _S, "source": _S, "leg": _S}, required=("kind", "file")))}),
}, required=("explanation", "observed", "agreement"))
SAVED_TRACE_MANIFEST = sc.Obj({"kind": _S, "files": _STRINGS})


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
    manifest = _read_json(root / MANIFEST, SAVED_TRACE_MANIFEST) if (root / MANIFEST).exists() else None
    if manifest is None or manifest.get("kind") != "SavedTrace":
        raise InputError(f"no {MANIFEST} of a saved trace (incomplete or not made by trace --keep)", where=str(root))
    for f in manifest.get("files") or []:
        if not (root / f).exists():
            raise InputError(f"{f} is listed in {MANIFEST} but missing", where=str(root))
    doc = _read_json(root / "trace.json", TRACE)
    if doc.get("kind") != "Trace":
        raise InputError("trace.json is not a Trace document", where=str(root))
    return doc
