"""The bundled demo clusters, one directory each under data/. The directory is the list: `--help`, man pages,
completion and `--demo` parsing read the names and one-line summaries from here (each README.md's title,
`# Demo `NAME` — summary`), so adding a demo needs no edit elsewhere. Standard library only: `--help` reads it."""

from __future__ import annotations

import functools
from importlib import resources

DEFAULT_DEMO = "bookinfo"


@functools.cache
def demos() -> dict[str, str]:
    """name -> one-line summary, the default demo first, then by name."""
    found: dict[str, str] = {}
    root = resources.files(__name__) / "data"
    for d in sorted(root.iterdir(), key=lambda d: (d.name != DEFAULT_DEMO, d.name)):
        readme = d / "README.md"
        if not d.is_dir() or not readme.is_file():
            continue
        title = readme.read_text(encoding="utf-8").partition("\n")[0]
        found[d.name] = title.partition("—")[2].strip() or title.lstrip("# ").strip()
    return found


def demo_names() -> list[str]:
    return list(demos())
