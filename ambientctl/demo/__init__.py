"""The bundled demo clusters, one directory each under data/. The directory is the list: `--help`, man pages,
completion and `--demo` parsing read the names and one-line summaries from here (each README.md's title,
`# Demo `NAME` — summary`), so adding a demo needs no edit elsewhere. Standard library only: `--help` reads it."""

from __future__ import annotations

import functools
import os

DEFAULT_DEMO = "bookinfo"


@functools.cache
def demos() -> dict[str, str]:
    """name -> one-line summary, the default demo first, then by name."""
    found: dict[str, str] = {}
    root = os.path.join(os.path.dirname(__file__), "data")  # os.path, not importlib.resources: --help reads this
    for name in sorted(os.listdir(root), key=lambda n: (n != DEFAULT_DEMO, n)):
        readme = os.path.join(root, name, "README.md")
        if not os.path.isfile(readme):
            continue
        with open(readme, encoding="utf-8") as f:
            title = f.readline().strip()
        found[name] = title.partition("—")[2].strip() or title.lstrip("# ").strip()
    return found


def demo_names() -> list[str]:
    return list(demos())
