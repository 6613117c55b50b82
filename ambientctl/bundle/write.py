"""Assemble and write a support bundle. The cluster state arrives cut by allow-list (ambientctl.bundle.allow),
captures cut to headers (ambientctl.bundle.pcap); every report, log and dump passes through the credential scan
(ambientctl.bundle.redact) as it is added; key logs only with --include-keys. The .tar.gz is written through
ambientctl.outfile (a temporary sibling renamed into place, never over an existing file without --force), so an
interrupted bundle leaves nothing behind."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tarfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ambientctl.bundle import KIND, MANIFEST
from ambientctl.bundle.redact import SECRET_KEY, looks_like_keylog, redact_doc, redact_text
from ambientctl.errors import InputError
from ambientctl.outfile import Target, check_target, open_output

KEYLOG_NAMES = (".keys", ".keylog", "keylog.txt", "sslkeylog.log")


@dataclass
class BundleContents:
    """What goes into the archive, already redacted: {member name: bytes}, plus what could not be had."""

    files: dict[str, bytes] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    redactions: Counter[str] = field(default_factory=Counter)
    excluded: list[str] = field(default_factory=list)  # left out on purpose (kinds, key logs, unknown files)
    truncated: list[dict[str, Any]] = field(default_factory=list)  # captures cut to packet headers

    def add_json(self, name: str, doc: Any) -> None:
        """A report or dump: every value scanned, and values under secret-named keys replaced."""
        self._json(name, redact_doc(doc, self.redactions))

    def add_snapshot(self, name: str, doc: Any) -> None:
        """The cluster state, already cut to allowed fields and scanned (ambientctl.bundle.allow)."""
        self._json(name, doc)

    def _json(self, name: str, doc: Any) -> None:
        self.files[name] = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()

    def add_text(self, name: str, text: str) -> None:
        self.files[name] = redact_text(text, self.redactions).encode()

    def add_file(self, name: str, data: bytes, include_keys: bool) -> None:
        """Another file of a saved trace: a TLS key log goes in only with include_keys; nothing else does (a
        trace keeps captures, logs and key logs; anything more is not known to be safe)."""
        is_keylog = name.endswith(KEYLOG_NAMES)
        if not is_keylog and len(data) < 1 << 22:
            with contextlib.suppress(UnicodeDecodeError):
                is_keylog = looks_like_keylog(data.decode("ascii"))
        if not is_keylog:
            self.excluded.append(f"{name}: not a capture, log or key log of a trace")
        elif not include_keys:
            self.excluded.append(f"{name}: a TLS key log (kept only with --include-keys)")
        else:
            self.files[name] = data


def redact_command(argv: list[str]) -> list[str]:
    """The command line with credentials replaced, also the value of `--password VALUE` given as two arguments."""
    out = []
    for i, a in enumerate(argv):
        prev = argv[i - 1] if i else ""
        if prev.startswith("--") and "=" not in prev and SECRET_KEY.search(prev) and not a.startswith("-"):
            out.append(f"<redacted:{prev.lstrip('-').lower()}>")
        else:
            out.append(redact_text(a))
    return out


def manifest(contents: BundleContents, *, target: dict[str, Any], source: dict[str, Any], command: list[str],
             versions: dict[str, Any]) -> dict[str, Any]:
    from ambientctl import __version__

    return {
        "apiVersion": "ambientctl/v1",
        "kind": KIND,
        "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "ambientctl": __version__,
        "command": redact_command(command),
        "target": redact_doc(target, by_key=False),
        "source": redact_doc(source, by_key=False),
        "versions": redact_doc(versions, by_key=False),
        "files": [{"name": n, "bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()}
                  for n, b in sorted(contents.files.items())],
        "redactions": dict(sorted(contents.redactions.items())),
        "excluded": redact_doc(contents.excluded, by_key=False),
        "truncated": contents.truncated,
        "missing": redact_doc(contents.missing, by_key=False),
    }


def write_bundle(path: str | Target, contents: BundleContents, man: dict[str, Any]) -> int:
    """Write the .tar.gz atomically (manifest first, so `tar tzf | head` shows it) through ambientctl.outfile;
    returns its size (0 on a stream). A str path must not exist yet."""
    target = path if isinstance(path, Target) else check_target(path, "-w")
    now = int(time.time())
    with open_output(target) as raw, tarfile.open(fileobj=raw, mode="w:gz") as t:
        members = [(MANIFEST, (json.dumps(man, indent=2, ensure_ascii=False) + "\n").encode()),
                   *sorted(contents.files.items())]
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), now, 0o644
            t.addfile(info, io.BytesIO(data))
    return 0 if target.is_stream else os.path.getsize(target.absolute)


def read_manifest(data: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"{where}: {MANIFEST} is not JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise InputError(f"{where}: {MANIFEST} is not an ambientctl {KIND}")
    return doc
