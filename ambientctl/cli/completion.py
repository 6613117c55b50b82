"""Shell completion: scripts for bash, zsh and fish generated from the CLI spec (cli/spec.py), plus the dynamic
candidates they ask for at TAB time (`ambientctl __complete KIND WORDS...`): kubeconfig contexts, namespaces,
pod names and demo names.

Dynamic lookups read the demo or snapshot named on the command line, else the live cluster with a 1 s budget
and a 30 s cache, so TAB never hangs. Nothing heavy is imported for contexts or demos.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ambientctl.cli.spec import Command, cli_spec

SHELLS = ("bash", "zsh", "fish")
CACHE_TTL = 30.0


# --------------------------------------------------------------------------------------------------------
# dynamic candidates


def _flag_value(words: list[str], *flags: str) -> str | None:
    for i, w in enumerate(words):
        for f in flags:
            if w == f and i + 1 < len(words):
                return words[i + 1]
            if w.startswith(f + "="):
                return w.split("=", 1)[1]
    return None


def candidates(kind: str, words: list[str]) -> list[str]:
    if kind == "demo":
        from ambientctl.demo import demo_names

        return demo_names()
    if kind == "context":
        return _contexts(_flag_value(words, "--kubeconfig"))
    if kind not in ("namespace", "pod"):
        return []
    from ambientctl.cli.options import normalize_demo

    demo = _flag_value(normalize_demo(words), "--demo")  # `--demo` never takes a word that names no demo
    snapshot = _flag_value(words, "--snapshot")
    ns = _flag_value(words, "-n", "--namespace")
    try:
        if demo or snapshot:
            from ambientctl.cli.state import load_cluster

            class A:  # the fields load_cluster reads
                pass

            a = A()
            a.demo, a.snapshot, a.context, a.kubeconfig, a.request_timeout = demo, snapshot, None, None, 1.0
            cluster = load_cluster(a)  # type: ignore[arg-type]
            names = _names_from_cluster(cluster)
        else:
            names = _live_names(_flag_value(words, "--context"), _flag_value(words, "--kubeconfig"))
    except Exception:  # completion must never print a traceback into the user's prompt
        return []
    if kind == "namespace":
        return sorted(names)
    return sorted(names.get(ns or "default", []))


def _names_from_cluster(cluster) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    out: dict[str, list[str]] = {ns: [] for ns in cluster.namespaces}
    for p in cluster.pods:
        out.setdefault(p.meta.namespace, []).append(p.meta.name)
    return out


def _contexts(kubeconfig: str | None) -> list[str]:
    import yaml

    paths = [kubeconfig] if kubeconfig else (os.environ.get("KUBECONFIG") or str(Path.home() / ".kube/config")).split(
        os.pathsep)
    out: list[str] = []
    for p in paths:
        try:
            doc = yaml.safe_load(Path(p).expanduser().read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue
        out += [str(c.get("name")) for c in doc.get("contexts") or [] if isinstance(c, dict) and c.get("name")]
    return sorted(set(out))


def _live_names(context: str | None, kubeconfig: str | None) -> dict[str, list[str]]:
    cache_dir = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ambientctl"
    import hashlib

    # a stable digest: str hash() differs in every process, so the cache was never found again
    digest = hashlib.sha256((kubeconfig or os.environ.get("KUBECONFIG", "")).encode()).hexdigest()[:16]
    key = f"complete-{context or 'current'}-{digest}.json"
    cache = cache_dir / key
    try:
        if time.time() - cache.stat().st_mtime < CACHE_TTL:
            return json.loads(cache.read_text())
    except (OSError, ValueError):
        pass
    from ambientctl.sources.kube import load_live

    names = _names_from_cluster(load_live(context=context, kubeconfig=kubeconfig, request_timeout=1.0))
    from ambientctl.errors import AmbientctlError
    from ambientctl.outfile import check_target, write_output

    try:  # like every write: never through a link, atomically; a cache that cannot be written is no error
        cache_dir.mkdir(parents=True, exist_ok=True)
        write_output(check_target(str(cache), "completion cache", force=True), json.dumps(names).encode())
    except (AmbientctlError, OSError):
        pass
    return names


# --------------------------------------------------------------------------------------------------------
# script generation


def _tables(root: Command):
    """Per command path: subcommand map (name/alias -> path), options, valued options, choices, dynamics."""
    rows = []
    for c in root.walk():
        path = " ".join(c.path)
        subs = {}
        for s in c.subcommands:
            for n in [s.path[-1], *s.aliases]:
                subs[n] = " ".join(s.path)
        flags = [f for o in c.options for f in o.flags]
        valued = {f: o for o in c.options if o.takes_value for f in o.flags}
        rows.append((path, c, subs, flags, valued))
    return rows


def generate(shell: str) -> str:
    root = cli_spec()
    if shell == "bash":
        return _bash(root)
    if shell == "zsh":
        return _zsh(root)
    if shell == "fish":
        return _fish(root)
    raise ValueError(shell)


HEADER = "# Generated by `ambientctl completion {shell}` from the CLI definition; do not edit.\n"


def _value_action(opt, sh: str) -> str:  # type: ignore[no-untyped-def]
    """Shell snippet producing candidates for an option's value."""
    if opt.choices:
        words = " ".join(opt.choices)
        return {"bash": f'_ambientctl_reply "{words}"', "zsh": f"compadd -- {words}"}[sh]
    if opt.dynamic == "file":
        return {"bash": "_ambientctl_files", "zsh": "_files"}[sh]
    if opt.dynamic:
        return {"bash": f"_ambientctl_dynamic {opt.dynamic}", "zsh": f"_ambientctl_dynamic {opt.dynamic}"}[sh]
    return {"bash": "COMPREPLY=()", "zsh": ":"}[sh]


# Per-shell snippets for the case tables both bash and zsh scripts are built from.
_SNIPPETS = {
    "bash": {"echo": 'echo "{}"', "valued": '{}) return 0', "opts": 'echo "{}"', "subs": 'echo "{}"',
             "choices": '_ambientctl_reply "{}"', "files": "_ambientctl_files", "none": "COMPREPLY=()"},
    "zsh": {"echo": 'print -r -- "{}"', "valued": '({}) return 0', "opts": "compadd -- {}",
            "subs": "compadd -- {}; return 0", "choices": "compadd -- {}", "files": "_files", "none": ":"},
}


def _case_rows(root: Command, sh: str) -> dict[str, list[str]]:
    """The case-statement rows of the generated script: subcommand lookup, options that take a value, options,
    subcommands, option values and positionals, per command path."""
    sn = _SNIPPETS[sh]
    out: dict[str, list[str]] = {k: [] for k in ("sub", "valued", "opts", "subs", "value", "pos")}
    for path, c, subs, flags, valued in _tables(root):
        for n, target in subs.items():
            out["sub"].append(f'    "{path}|{n}") {sn["echo"].format(target)} ;;')
        if valued:
            out["valued"].append(f'    "{path}") case "$2" in {sn["valued"].format("|".join(valued))} ;; esac ;;')
        out["opts"].append(f'    "{path}") {sn["opts"].format(" ".join(flags))} ;;')
        if subs:
            out["subs"].append(f'    "{path}") {sn["subs"].format(" ".join(s.path[-1] for s in c.subcommands))} ;;')
        for f, o in valued.items():
            out["value"].append(f'    "{path}|{f}") {_value_action(o, sh)} ;;')
        for i, p in enumerate(c.positionals):
            act = sn["choices"].format(" ".join(p.choices)) if p.choices else sn["files"] if p.dynamic == "file" \
                else f"_ambientctl_dynamic {p.dynamic}" if p.dynamic else sn["none"]
            out["pos"].append(f'    "{path}|{i}") {act} ;;')
    return out


def _bash(root: Command) -> str:
    rows = _case_rows(root, "bash")
    sub_case, valued_case, opts_case = rows["sub"], rows["valued"], rows["opts"]
    subs_case, value_case, pos_case = rows["subs"], rows["value"], rows["pos"]
    nl = "\n"
    return HEADER.format(shell="bash") + f"""
_ambientctl_reply() {{ COMPREPLY=($(compgen -W "$1" -- "$cur")); }}
_ambientctl_files() {{ COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null; }}
_ambientctl_dynamic() {{
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$(command ambientctl __complete "$1" "${{COMP_WORDS[@]:1:COMP_CWORD-1}}" 2>/dev/null)" -- "$cur"))
}}
_ambientctl_sub() {{
  case "$1|$2" in
{nl.join(sub_case)}
  esac
}}
_ambientctl_takes_value() {{
  case "$1" in
{nl.join(valued_case)}
  esac
  return 1
}}
_ambientctl_opts() {{
  case "$1" in
{nl.join(opts_case)}
  esac
}}
_ambientctl_subs() {{
  case "$1" in
{nl.join(subs_case)}
  esac
}}
_ambientctl_value() {{
  case "$1|$2" in
{nl.join(value_case)}
  esac
}}
_ambientctl_positional() {{
  case "$1|$2" in
{nl.join(pos_case)}
  esac
}}
_ambientctl() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
  local cmdpath="" npos=0 i w next skip=0
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="${{COMP_WORDS[i]}}"
    if ((skip)); then skip=0; continue; fi
    if [[ $w == -* ]]; then
      [[ $w != *=* ]] && _ambientctl_takes_value "$cmdpath" "$w" && skip=1
      continue
    fi
    next=$(_ambientctl_sub "$cmdpath" "$w")
    if [[ -n $next ]]; then cmdpath=$next; npos=0; else npos=$((npos + 1)); fi
  done
  if [[ $prev == -* ]] && _ambientctl_takes_value "$cmdpath" "$prev"; then
    _ambientctl_value "$cmdpath" "$prev"; return 0
  fi
  if [[ $cur == -* ]]; then _ambientctl_reply "$(_ambientctl_opts "$cmdpath")"; return 0; fi
  local subs; subs=$(_ambientctl_subs "$cmdpath")
  if [[ -n $subs ]]; then _ambientctl_reply "$subs"; return 0; fi
  _ambientctl_positional "$cmdpath" "$npos"
}}
complete -F _ambientctl ambientctl
complete -F _ambientctl kubectl-ambient
"""


def _zsh(root: Command) -> str:
    rows = _case_rows(root, "zsh")
    sub_case, valued_case, opts_case = rows["sub"], rows["valued"], rows["opts"]
    subs_case, value_case, pos_case = rows["subs"], rows["value"], rows["pos"]
    nl = "\n"
    return "#compdef ambientctl kubectl-ambient\n" + HEADER.format(shell="zsh") + f"""
_ambientctl_dynamic() {{
  local -a cands
  cands=("${{(@f)$(command ambientctl __complete "$1" "${{(@)words[2,CURRENT-1]}}" 2>/dev/null)}}")
  compadd -- "${{cands[@]}}"
}}
_ambientctl_sub() {{
  case "$1|$2" in
{nl.join(sub_case)}
  esac
}}
_ambientctl_takes_value() {{
  case "$1" in
{nl.join(valued_case)}
  esac
  return 1
}}
_ambientctl() {{
  local cur="${{words[CURRENT]}}" prev="${{words[CURRENT-1]}}"
  local cmdpath="" npos=0 i w next skip=0
  for ((i = 2; i < CURRENT; i++)); do
    w="${{words[i]}}"
    if ((skip)); then skip=0; continue; fi
    if [[ $w == -* ]]; then
      [[ $w != *=* ]] && _ambientctl_takes_value "$cmdpath" "$w" && skip=1
      continue
    fi
    next=$(_ambientctl_sub "$cmdpath" "$w")
    if [[ -n $next ]]; then cmdpath=$next; npos=0; else npos=$((npos + 1)); fi
  done
  if [[ $prev == -* ]] && _ambientctl_takes_value "$cmdpath" "$prev"; then
    case "$cmdpath|$prev" in
{nl.join(value_case)}
    esac
    return 0
  fi
  if [[ $cur == -* ]]; then
    case "$cmdpath" in
{nl.join(opts_case)}
    esac
    return 0
  fi
  case "$cmdpath" in
{nl.join(subs_case)}
  esac
  case "$cmdpath|$npos" in
{nl.join(pos_case)}
  esac
}}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _ambientctl "$@"
else
  compdef _ambientctl ambientctl kubectl-ambient
fi
"""


def _fish(root: Command) -> str:
    lines = [HEADER.format(shell="fish").rstrip(), "",
             "function __ambientctl_path",
             "    set -l words (commandline -opc)",
             "    set -e words[1]",
             "    set -l path ''",
             "    set -l skip 0",
             "    for w in $words",
             "        if test $skip -eq 1",
             "            set skip 0",
             "            continue",
             "        end",
             "        if string match -q -- '-*' $w",
             "            if not string match -q -- '*=*' $w; and __ambientctl_takes_value \"$path\" $w",
             "                set skip 1",
             "            end",
             "            continue",
             "        end",
             "        set -l next (__ambientctl_sub \"$path\" $w)",
             "        if test -n \"$next\"",
             "            set path $next",
             "        end",
             "    end",
             "    echo $path",
             "end",
             "",
             "function __ambientctl_at",
             "    test (__ambientctl_path) = \"$argv[1]\"",
             "end",
             "",
             "function __ambientctl_dynamic",
             "    set -l words (commandline -opc)",
             "    command ambientctl __complete $argv[1] $words[2..-1] 2>/dev/null",
             "end",
             ""]
    rows = _tables(root)
    lines.append("function __ambientctl_sub")
    lines.append("    switch \"$argv[1]|$argv[2]\"")
    for path, _c, subs, _f, _v in rows:
        for n, target in subs.items():
            lines.append(f"        case '{path}|{n}'")
            lines.append(f"            echo '{target}'")
    lines += ["    end", "end", "", "function __ambientctl_takes_value", "    switch \"$argv[1]|$argv[2]\""]
    for path, _c, _s, _f, valued in rows:
        for f in valued:
            lines.append(f"        case '{path}|{f}'")
            lines.append("            return 0")
    lines += ["    end", "    return 1", "end", "", "complete -c ambientctl -f"]
    for path, c, _subs, _flags, _valued in rows:
        cond = f"__ambientctl_at '{path}'"
        for s in c.subcommands:
            lines.append(f"complete -c ambientctl -n \"{cond}\" -a '{s.path[-1]}' -d {_fish_q(s.help)}")
        for o in c.options:
            parts = [f"complete -c ambientctl -n \"{cond}\""]
            for f in o.flags:
                parts.append(f"-l {f[2:]}" if f.startswith("--") else f"-s {f[1:]}" if len(f) == 2 else f"-o {f[1:]}")
            if o.takes_value:
                if o.choices:
                    parts.append(f"-x -a '{' '.join(o.choices)}'")
                elif o.dynamic == "file":
                    parts.append("-r -F")
                elif o.dynamic:
                    parts.append(f"-x -a '(__ambientctl_dynamic {o.dynamic})'")
                else:
                    parts.append("-x")
            parts.append(f"-d {_fish_q(o.help)}")
            lines.append(" ".join(parts))
        for p in c.positionals:
            if p.dynamic in ("pod",):
                lines.append(f"complete -c ambientctl -n \"{cond}\" -a '(__ambientctl_dynamic pod)'")
            elif p.dynamic == "file":
                lines.append(f"complete -c ambientctl -n \"{cond}\" -F")
            elif p.choices:
                lines.append(f"complete -c ambientctl -n \"{cond}\" -a '{' '.join(p.choices)}'")
    lines.append("complete -c kubectl-ambient --wraps ambientctl")
    return "\n".join(lines) + "\n"


def _fish_q(text: str) -> str:
    first = (text or "").split(". ")[0].replace("'", "\\'")
    return f"'{first[:80]}'"
