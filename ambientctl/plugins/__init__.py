"""Plugins: extra L7 decoders, findings and output formats, found through versioned entry-point groups.

Why entry points: a plugin is an ordinary distribution (`pip install ambientctl-grpc`) that names its objects in
its pyproject, so plugins can be listed without importing them and a contract can change by bumping the group's
version (`ambientctl.decoders.v2`) without silently breaking old plugins. Built-ins register the same way in
ambientctl's own pyproject and carry `builtin=True`.

Nothing here runs at import time and `importlib.metadata` (30 ms) is imported only when a command needs
plugins, so `--help` and shell completion stay fast. A plugin that fails to load or raises is reported on stderr
in one line (`ambientctl: plugin NAME (DIST) failed to load: ERROR`) and skipped: a broken plugin never breaks
the tool. `--no-plugins` or AMBIENTCTL_NO_PLUGINS=1 skips every plugin not shipped with ambientctl.

The contracts (signatures, API versions) are in ambientctl/plugins/api.py and plugins/README.md.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

DECODERS = "ambientctl.decoders.v1"
FINDINGS = "ambientctl.findings.v1"
OUTPUTS = "ambientctl.outputs.v1"
GROUPS = (DECODERS, FINDINGS, OUTPUTS)
KINDS = {"decoders": DECODERS, "findings": FINDINGS, "outputs": OUTPUTS}
BUILTIN_DIST = "ambientctl"
NO_PLUGINS_ENV = "AMBIENTCTL_NO_PLUGINS"

# Output formats every command has. "text" is each command's own view; json and yaml are registered as built-in
# entry points (pyproject.toml) and resolved from this table without scanning installed distributions, so
# `-o json` costs nothing extra. tests/plugins/test_registry.py checks the table against pyproject.toml.
BUILTIN_OUTPUTS = {
    "json": "ambientctl.plugins.builtin:json_output",
    "yaml": "ambientctl.plugins.builtin:yaml_output",
}
TEXT = "text"


def third_party_disabled() -> bool:
    return os.environ.get(NO_PLUGINS_ENV, "") not in ("", "0")


@dataclass
class Plugin:
    """One entry point: where it comes from, and once loaded, its object or the error that stopped it."""

    group: str
    name: str
    value: str  # "module:attr"
    dist: str
    version: str
    builtin: bool
    error: str | None = None
    obj: Any = field(default=None, repr=False)
    loaded: bool = False
    _entry: Any = field(default=None, repr=False)
    _reported: bool = field(default=False, repr=False)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.dist})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group, "name": self.name, "object": self.value, "distribution": self.dist,
            "version": self.version, "builtin": self.builtin,
            "status": "error" if self.error else ("loaded" if self.loaded else "not loaded"), "error": self.error,
        }


def _describe(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


class Registry:
    """The plugins of one run. `entry_points` is injectable for tests (it must behave like
    `importlib.metadata.entry_points(group=...)`); `stderr` receives the one-line failure reports."""

    def __init__(self, third_party: bool | None = None, entry_points: Callable[..., Iterable[Any]] | None = None,
                 stderr: TextIO | None = None):
        self.third_party = not third_party_disabled() if third_party is None else third_party
        self._entry_points = entry_points
        self._stderr = stderr
        self._groups: dict[str, list[Plugin]] = {}

    # -- discovery --------------------------------------------------------------------------------------------
    def plugins(self, group: str) -> list[Plugin]:
        """Every plugin registered in `group` (built-ins first), without importing any. Third-party plugins are
        absent when disabled. Two distributions registering one name both get an error naming the other."""
        if group in self._groups:
            return self._groups[group]
        eps = self._entry_points
        if eps is None:
            from importlib.metadata import entry_points as eps
        found: dict[str, list[Plugin]] = {}
        seen: set[tuple[str, str]] = set()
        for ep in eps(group=group):
            dist = getattr(ep, "dist", None)
            dist_name = (dist.metadata["Name"] if dist is not None else None) or "unknown distribution"
            if (ep.name, dist_name) in seen:
                continue  # the same distribution on sys.path twice
            seen.add((ep.name, dist_name))
            builtin = dist_name == BUILTIN_DIST
            if not builtin and not self.third_party:
                continue
            found.setdefault(ep.name, []).append(Plugin(
                group=group, name=ep.name, value=ep.value, dist=dist_name,
                version=(dist.version if dist is not None else "") or "", builtin=builtin, _entry=ep))
        out: list[Plugin] = []
        for name, same in found.items():
            if len(same) > 1:
                owners = [p for p in same if p.builtin] or same
                for p in same:
                    others = ", ".join(o.dist for o in same if o is not p)
                    if p.builtin:
                        continue  # a built-in name cannot be taken over
                    p.error = (f"name '{name}' is also registered by {others}; "
                               + ("a built-in name cannot be replaced" if owners[0].builtin else
                                  "neither is used (uninstall one)"))
            out.extend(same)
        out.sort(key=lambda p: (not p.builtin, p.name, p.dist))
        self._groups[group] = out
        return out

    def all(self) -> list[Plugin]:
        return [p for g in GROUPS for p in self.plugins(g)]

    # -- loading and calling ----------------------------------------------------------------------------------
    def load(self, p: Plugin) -> Any | None:
        """Import the plugin's object once; on failure record the error, report it once and return None."""
        if p.loaded:
            return p.obj
        if p.error:
            self.report(p, p.error, loading=True)
            return None
        try:
            p.obj = p._entry.load()
            p.loaded = True
            return p.obj
        except Exception as e:  # a plugin's import may raise anything; it must not stop ambientctl
            p.error = _describe(e)
            self.report(p, p.error, loading=True)
            return None

    def loaded(self, group: str) -> list[tuple[Plugin, Any]]:
        """(plugin, object) for every plugin of `group` that loads."""
        out = []
        for p in self.plugins(group):
            obj = self.load(p)
            if obj is not None:
                out.append((p, obj))
        return out

    def call(self, p: Plugin, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a plugin's function; if it raises, report it once (one line) and return None."""
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            self.report(p, _describe(e), loading=False)
            return None

    def report(self, p: Plugin, error: str, loading: bool) -> None:
        if p._reported:
            return
        p._reported = True
        what = "failed to load" if loading else "failed"
        print(f"ambientctl: plugin {p.label} {what}: {error}", file=self._stderr or sys.stderr)

    # -- output formats ---------------------------------------------------------------------------------------
    def output(self, name: str) -> Callable[[dict[str, Any], TextIO], None]:
        """The output function for `-o name` (not "text", which is each command's own view). Unknown names and
        plugins that fail to load are a usage error listing the formats that work."""
        from ambientctl.errors import UsageError

        if name in BUILTIN_OUTPUTS:
            return _import(BUILTIN_OUTPUTS[name])
        for p in self.plugins(OUTPUTS):
            if p.name == name:
                obj = self.load(p)
                if obj is not None:
                    return obj
                break
        raise UsageError(f"unknown output format '{name}' (known: {', '.join(self.output_names())})")

    def output_names(self) -> list[str]:
        names = [TEXT, *BUILTIN_OUTPUTS]
        names += [p.name for p in self.plugins(OUTPUTS) if p.name not in names and not p.error]
        return names


def _import(target: str) -> Any:
    import importlib

    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


_default: Registry | None = None


def registry() -> Registry:
    """The registry of this process (created on first use; honours AMBIENTCTL_NO_PLUGINS at that moment)."""
    global _default
    if _default is None or _default.third_party is third_party_disabled():  # created before --no-plugins
        _default = Registry()
    return _default


def reset() -> None:
    """Forget the process registry (tests, and after `--no-plugins` changes the environment)."""
    global _default
    _default = None


def check_output_format(name: str) -> None:
    """Fail early (usage error, exit 2) when `-o name` names no known format."""
    if name != TEXT and name not in BUILTIN_OUTPUTS:
        registry().output(name)


def write_output(doc: dict[str, Any], name: str, out: TextIO) -> None:
    """Write `doc` in output format `name` (json, yaml or a plugin's). A plugin's output is buffered: if it
    raises, it is reported and the document is written as JSON instead, so the answer is never lost or mixed."""
    import io

    reg = registry()
    fn = reg.output(name)
    if name in BUILTIN_OUTPUTS:
        fn(doc, out)
        return
    p = next(p for p in reg.plugins(OUTPUTS) if p.name == name)
    buf = io.StringIO()
    try:
        fn(doc, buf)
    except Exception as e:
        reg.report(p, f"{_describe(e)}; wrote JSON instead", loading=False)
        buf = io.StringIO()
        _import(BUILTIN_OUTPUTS["json"])(doc, buf)
    out.write(buf.getvalue())
