"""Reading a bundle back (`--snapshot BUNDLE`): found by its manifest wherever a re-tar put it (any member order,
`./` names, one top-level directory), and trusted only member by member: every file the manifest lists must be
in the archive with the sha256 the manifest gives, or the read fails naming the member. Only listed, verified
members are used; anything else in the archive is ignored."""

from __future__ import annotations

import hashlib
import re
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ambientctl.bundle import MANIFEST, SNAPSHOT_DIR
from ambientctl.bundle.write import read_manifest
from ambientctl.errors import InputError

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Bundle:
    path: Path
    manifest: dict[str, Any]
    snapshot: list[tuple[str, bytes]] = field(default_factory=list)  # verified snapshot/ members, by name


def _name(member: tarfile.TarInfo) -> str:
    name = member.name
    while name.startswith("./"):
        name = name[2:]
    return name


def _prefix(names: list[str]) -> str | None:
    """Where the bundle's files are: "" when manifest.json is at the top, "DIR/" when every file is under one
    top-level directory holding it; None when this is no bundle."""
    if MANIFEST in names:
        return ""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) == 1 and all("/" in n for n in names):
        top = f"{tops.pop()}/"
        if f"{top}{MANIFEST}" in names:
            return top
    return None


def read_bundle(p: Path) -> Bundle | None:
    """The bundle at `p`, its listed members verified; None when `p` is not a bundle (another archive, a file, a
    directory). A member that differs from its checksum, or is listed and absent, is a one-line InputError."""
    if not p.is_file() or not p.name.lower().endswith(TAR_SUFFIXES):
        return None
    where = str(p)
    from ambientctl.sources.files import MAX_ARCHIVE_BYTES, MAX_FILE_BYTES

    digests: dict[str, str] = {}
    kept: dict[str, bytes] = {}
    kept_bytes = all_bytes = 0
    try:
        with tarfile.open(p) as t:
            members = [m for m in t.getmembers() if m.isfile()]
            prefix = _prefix([_name(m) for m in members])
            if prefix is None:  # not a bundle: nothing read beyond the member list
                return None
            for m in members:
                name = _name(m)
                f = t.extractfile(m)
                if f is None:
                    continue
                h, chunks = hashlib.sha256(), []
                keep = name.endswith(MANIFEST) or f"/{SNAPSHOT_DIR}" in f"/{name}"
                kept_bytes += m.size if keep else 0
                all_bytes += m.size
                if (keep and m.size > MAX_FILE_BYTES) or m.size > MAX_ARCHIVE_BYTES or kept_bytes > \
                        MAX_ARCHIVE_BYTES or all_bytes > 4 * MAX_ARCHIVE_BYTES:  # refused before inflating it
                    raise InputError(f"{name} inflates to {m.size:,} bytes; ambientctl reads up to "
                                     f"{MAX_FILE_BYTES >> 20} MiB per file", where=where)
                while chunk := f.read(1 << 20):
                    h.update(chunk)
                    if keep:
                        chunks.append(chunk)
                digests[name] = h.hexdigest()
                if keep:
                    kept[name] = b"".join(chunks)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise InputError(f"not a readable archive: {e}", where=where) from None
    manifest = read_manifest(kept[f"{prefix}{MANIFEST}"], where)
    bundle = Bundle(p, manifest)
    files = manifest.get("files")
    if not isinstance(files, list):
        raise InputError(f"{MANIFEST}: 'files' must be a list", where=where)
    for i, entry in enumerate(files):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(
                entry.get("sha256"), str) or not _SHA256.match(entry["sha256"]):
            raise InputError(f"{MANIFEST}: files[{i}] needs a name and a sha256", where=where)
        name = entry["name"]
        got = digests.get(f"{prefix}{name}")
        if got is None:
            raise InputError(f"{name}: listed in {MANIFEST} but not in the archive", where=where)
        if got != entry["sha256"]:
            raise InputError(f"{name}: its sha256 is not the one {MANIFEST} gives (changed after the bundle was "
                             "written)", where=where)
        if name.startswith(SNAPSHOT_DIR):
            bundle.snapshot.append((name, kept[f"{prefix}{name}"]))
    bundle.snapshot.sort()
    return bundle
