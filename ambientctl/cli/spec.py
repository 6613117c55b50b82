"""The CLI definition as data, read off the argparse tree: the single source from which shell completions
(completions/) and man pages (man/) are generated, so they cannot drift from the real parser."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

# What a positional or option value is, for dynamic completion.
DYNAMIC = {
    "--context": "context",
    "--namespace": "namespace",
    "-n": "namespace",
    "--demo": "demo",
}
FILE_OPTIONS = {"--snapshot", "--kubeconfig", "--keylog", "-w", "--write", "--export-pcapng", "--from", "--keep"}
POD_POSITIONALS = {"name", "src", "dst", "target", "pod"}
FILE_POSITIONALS = {"file", "path"}


@dataclass
class Option:
    flags: list[str]
    help: str
    metavar: str | None
    choices: list[str] | None
    takes_value: bool
    dynamic: str | None = None  # context | namespace | demo | file

    @property
    def long(self) -> str:
        return next((f for f in self.flags if f.startswith("--")), self.flags[0])


@dataclass
class Positional:
    name: str
    help: str
    dynamic: str | None = None  # pod | file
    choices: list[str] | None = None


@dataclass
class Command:
    path: list[str]  # ["describe", "pod"]
    help: str
    description: str
    epilog: str
    options: list[Option] = field(default_factory=list)
    positionals: list[Positional] = field(default_factory=list)
    subcommands: list[Command] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return " ".join(self.path) if self.path else "ambientctl"

    def walk(self):
        yield self
        for s in self.subcommands:
            yield from s.walk()


def _dynamic_for_option(a: argparse.Action) -> str | None:
    for f in a.option_strings:
        if f in DYNAMIC:
            return DYNAMIC[f]
        if f in FILE_OPTIONS:
            return "file"
    return None


def build_spec(parser: argparse.ArgumentParser, path: list[str] | None = None, help_: str = "",
               aliases: list[str] | None = None) -> Command:
    path = path or []
    cmd = Command(path, help_ or (parser.description or ""), parser.description or "", parser.epilog or "",
                  aliases=aliases or [])
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            helps = {c.dest: c.help or "" for c in a._choices_actions}
            seen: dict[int, Command] = {}
            for name, sub in a.choices.items():
                if name.startswith("__"):
                    continue  # hidden helpers such as __complete
                if id(sub) in seen:
                    seen[id(sub)].aliases.append(name)
                    continue
                child = build_spec(sub, path + [name], helps.get(name, ""))
                seen[id(sub)] = child
                cmd.subcommands.append(child)
        elif a.option_strings:
            if a.help == argparse.SUPPRESS:
                continue
            takes = a.nargs != 0 and not isinstance(a, argparse._StoreTrueAction | argparse._StoreFalseAction |
                                                   argparse._HelpAction | argparse._VersionAction |
                                                   argparse._CountAction)
            cmd.options.append(Option(list(a.option_strings), a.help or "",
                                      a.metavar if isinstance(a.metavar, str) else None,
                                      [str(c) for c in a.choices] if a.choices else None, takes,
                                      _dynamic_for_option(a)))
        else:
            dyn = "pod" if a.dest in POD_POSITIONALS else "file" if a.dest in FILE_POSITIONALS else None
            cmd.positionals.append(Positional(a.metavar if isinstance(a.metavar, str) else a.dest, a.help or "", dyn,
                                              [str(c) for c in a.choices] if a.choices else None))
    return cmd


def cli_spec() -> Command:
    from ambientctl.cli.main import build_parser

    return build_spec(build_parser())
