"""plugins/k9s/ambientctl.yaml as k9s reads it: valid against k9s's own plugin schemas (facts in
tests/k9s/schema, with their source and commit), shortcuts that collide with nothing k9s binds on pods and
services, and every command a real ambientctl invocation — parsed by ambientctl's own parser, then run through
bash exactly as k9s would after substituting its variables, on the demo cluster."""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from ambientctl.cli.main import _parse, build_parser

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "plugins" / "k9s" / "ambientctl.yaml"
SCHEMAS = sorted((REPO / "tests" / "k9s" / "schema").glob("plugins-*.json"))
AMBIENTCTL = Path(sys.executable).with_name("ambientctl")

# k9s's variable syntax (internal/view/env.go, Env.Substitute, v0.51.0 and a46c900): $NAME, $!NAME, ${NAME},
# ${!NAME}; names are looked up upper-cased, and a name k9s does not know is left for the shell.
K9S_VAR = re.compile(r"(\$(!?)([\w\-]+))|(\$\{(!?)([\w\-%/: ]+)})")
# Keys k9s itself binds where these plugins apply (tests/k9s/schema/README.md): a plugin may not reuse them.
K9S_KEYS = {"Shift-N", "Shift-A", "Shift-S", "Shift-O", "Shift-F", "Shift-J", "Shift-K", "Shift-L", "Shift-P",
            "Shift-R", "Shift-U", "Shift-V", "Shift-C"}
# What k9s puts in the environment on a row of the demo's pods/services view, and what a user types.
ROW = {
    "pods": {"NAME": "sleep-55697f8897-n2ldz", "NAMESPACE": "default", "CONTEXT": "prod",
             "INPUT_DESTINATION": "productpage:9080"},
    "services": {"NAME": "productpage", "NAMESPACE": "default", "CONTEXT": "prod", "INPUT_SOURCE": "sleep"},
    "gateways": {"NAME": "waypoint", "NAMESPACE": "default", "CONTEXT": "prod"},
}


def plugins() -> dict:
    return yaml.safe_load(PLUGIN.read_text())["plugins"]


def substitute(arg: str, env: dict[str, str]) -> str:
    """What k9s does to an arg before running it (longest match first, unknown names left alone)."""
    matches = sorted(K9S_VAR.finditer(arg), key=lambda m: -len(m.group(0)))
    for m in matches:
        key = (m.group(3) or m.group(6)).upper()
        if key in env:
            arg = arg.replace(m.group(0), env[key])
    return arg


def invocations(script: str) -> list[list[str]]:
    """The ambientctl command lines in a bash -c script (split at |, ;, && and ||; redirections dropped)."""
    lex = shlex.shlex(script, posix=True, punctuation_chars=";|&<>")
    lex.whitespace_split = True
    found, current, words = [], [], [*lex, ";"]
    for i, word in enumerate(words):
        if word[0] in "<>" or (i and words[i - 1][0] in "<>"):  # 2>&1: the operator and its target
            if current and current[-1].isdigit() and word[0] in "<>":
                current.pop()  # the fd before the operator
            continue
        if word in (";", "|", "||", "&&", "&"):
            if current and current[0] == "ambientctl":
                found.append(current[1:])
            current = []
        else:
            current.append(word)
    return found


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda p: p.stem)
def test_valid_against_k9s_schema(schema):
    doc = yaml.safe_load(PLUGIN.read_text())
    spec = json.loads(schema.read_text())
    jsonschema.Draft7Validator.check_schema(spec)
    jsonschema.Draft7Validator(spec).validate(doc)
    known = set(spec["properties"]["plugins"]["additionalProperties"]["properties"])
    for name, p in doc["plugins"].items():  # plugins.json lets unknown keys through; k9s would ignore them
        assert set(p) <= known, (name, set(p) - known)
        assert len({i["name"] for i in p.get("inputs", [])}) == len(p.get("inputs", []))  # k9s: no duplicates


def test_shortcuts_are_free():
    seen: dict[tuple[str, str], str] = {}
    for name, p in plugins().items():
        assert p["shortCut"] not in K9S_KEYS, name
        for scope in p["scopes"]:
            assert (scope, p["shortCut"]) not in seen, (name, seen.get((scope, p["shortCut"])))
            seen[(scope, p["shortCut"])] = name
    assert {s for s, _ in seen} == {"pods", "services", "gateways"}


@pytest.mark.parametrize("name", sorted(plugins()))
def test_commands_are_ambientctl_invocations(name):
    """Each command, after k9s's substitution, parses with ambientctl's own parser into the command it names."""
    p = plugins()[name]
    assert p["command"] == "bash" and p["args"][0] == "-c"
    script = substitute(p["args"][1], ROW[p["scopes"][0]])
    assert "$NAME" not in script and "$INPUT" not in script and "$CONTEXT" not in script
    subprocess.run(["bash", "-n", "-c", script], check=True)
    found = invocations(script)
    assert len(found) == 1, script
    args = _parse(build_parser(), found[0])
    assert args.func is not None and args.context == "prod"
    assert name.split("-")[1] == args.command  # ambientctl-describe-pod runs describe, ...


@pytest.fixture
def shims(tmp_path) -> dict[str, str]:
    """PATH with `ambientctl` that answers from the demo instead of context prod, and `less` that is cat."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "ambientctl").write_text(
        "#!/bin/bash\nargs=()\nwhile [ $# -gt 0 ]; do\n"
        '  if [ "$1" = --context ]; then shift 2; args+=(--demo); else args+=("$1"); shift; fi\n'
        f'done\nexec {shlex.quote(str(AMBIENTCTL))} "${{args[@]}}"\n')
    (bindir / "less").write_text("#!/bin/sh\nexec cat\n")
    for f in bindir.iterdir():
        f.chmod(f.stat().st_mode | stat.S_IXUSR)
    return {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "COLUMNS": "100"}


EXPECT = {
    "ambientctl-describe-pod": "sleep-55697f8897-n2ldz",
    "ambientctl-explain-from-pod": "ALLOW  default/sleep-55697f8897-n2ldz → default/productpage:9080",
    "ambientctl-trace-from-pod": "default/sleep-55697f8897-n2ldz → productpage:9080",
    "ambientctl-capture-plan": "Capture plan pod/sleep-55697f8897-n2ldz.default",
    "ambientctl-explain-to-service": "ALLOW  default/sleep-55697f8897-n2ldz → default/productpage:9080",
    "ambientctl-describe-service": "default/productpage",
    "ambientctl-describe-waypoint": "default/waypoint",
}


@pytest.mark.parametrize("name", sorted(plugins()))
def test_commands_run_as_k9s_runs_them(name, shims):
    """bash -c with k9s's substitution done, ambientctl answering from the demo: an answer, no error."""
    p = plugins()[name]
    script = substitute(p["args"][1], ROW[p["scopes"][0]])
    r = subprocess.run(["bash", *p["args"][:1], script], env=shims, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert EXPECT[name] in r.stdout, r.stdout
    assert "ambientctl:" not in r.stdout + r.stderr  # no error line (describe/explain send stderr to less too)
