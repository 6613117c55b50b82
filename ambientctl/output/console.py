"""One place that decides how text output looks on this stream: colour on a terminal, plain text in pipes and
golden files, a stable width when not a terminal (so output does not depend on who runs it)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.theme import Theme

THEME = Theme(
    {
        "allow": "bold green",
        "deny": "bold red",
        "warn": "yellow",
        "error": "bold red",
        "info": "cyan",
        "dim": "dim",
        "head": "bold",
        "key": "bold cyan",
        "name": "bold",
        "ok": "green",
        "bad": "red",
    }
)

PLAIN_WIDTH = 100


def console_for(out: TextIO) -> Console:
    tty = hasattr(out, "isatty") and out.isatty()
    no_color = "NO_COLOR" in os.environ
    return Console(
        file=out,
        theme=THEME,
        highlight=False,
        soft_wrap=False,
        width=None if tty else int(os.environ.get("COLUMNS", PLAIN_WIDTH)),
        color_system="auto" if tty and not no_color else None,
        force_terminal=tty,
        emoji=False,
    )


def section(c: Console, title: str, body: object) -> None:
    """A titled block with its body indented two columns (the layout every text view uses)."""
    from rich.padding import Padding

    c.print()
    c.print(f"[head]{title}[/]")
    c.print(Padding(body, (0, 0, 0, 2)))  # type: ignore[arg-type]


@contextmanager
def text_output(out: TextIO) -> Iterator[Console]:
    """A console for one text rendering. Off a terminal the text is buffered and written with trailing spaces
    stripped, so pipes and golden files get clean lines."""
    if hasattr(out, "isatty") and out.isatty():
        yield console_for(out)
        return
    buf = io.StringIO()
    console = console_for(out)
    console.file = buf
    yield console
    out.write("\n".join(line.rstrip() for line in buf.getvalue().split("\n")))


