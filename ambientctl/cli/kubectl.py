"""`kubectl ambient ...`: ambientctl as a kubectl plugin (krew-style: kubectl runs `kubectl-ambient` from PATH
with every word after `ambient`).

kubectl users put global flags anywhere: `kubectl ambient --context prod -n shop describe pod web` or at the
end. ambientctl takes --context/--kubeconfig before a command already; -n/--namespace belongs to the command,
and --request-timeout is a duration ("5s", "1m", "0" = no limit) where ambientctl wants seconds. So the
leading kubectl flags are moved behind the command path, durations become seconds, flags the command has no
use for are dropped (kubectl ignores irrelevant globals too), and kubectl flags ambientctl cannot honour
(--as, --token, --server, ...) are a usage error rather than silently ignored. Then it is plain ambientctl.
"""

from __future__ import annotations

import re
import sys

# kubectl global flags ambientctl understands, and whether each takes a value
PASSED = {"--context": True, "--kubeconfig": True, "-n": True, "--namespace": True, "--request-timeout": True}
# kubectl global flags that would change who we are or which server we talk to: refuse, never ignore
REFUSED = ("--as", "--as-group", "--as-uid", "--token", "--server", "-s", "--user", "--cluster",
           "--certificate-authority", "--client-certificate", "--client-key", "--insecure-skip-tls-verify",
           "--tls-server-name", "--username", "--password")
NO_TIMEOUT = "3600"  # kubectl's "0" (no limit), in the seconds ambientctl takes
DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(h|m|s|ms)?)+$")
UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, None: 1.0}


class FlagError(Exception):
    pass


def seconds(value: str) -> str:
    """kubectl's --request-timeout ("0", "30", "5s", "1m30s", "500ms") as ambientctl's seconds."""
    if not DURATION.match(value):
        raise FlagError(f"--request-timeout {value!r}: expected a duration like 5s, 1m or 0")
    total = sum(float(n) * UNIT[u or None] for n, u in re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)?", value))
    return NO_TIMEOUT if total == 0 else f"{total:g}"


def _split(word: str) -> tuple[str, str | None]:
    """'--context=x' -> ('--context', 'x'); '-nshop' -> ('-n', 'shop'); '-n=shop' -> ('-n', 'shop')."""
    if word.startswith("--"):
        name, eq, value = word.partition("=")
        return name, value if eq else None
    if word.startswith("-n") and len(word) > 2:
        return "-n", word[2:].removeprefix("=")
    return word, None


def translate(argv: list[str]) -> list[str]:
    """kubectl-plugin argv -> ambientctl argv (see the module docstring)."""
    from ambientctl.cli.main import build_parser

    lead: list[tuple[str, str]] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            rest += argv[i:]
            break
        name, value = _split(word)
        if name in REFUSED:
            raise FlagError(f"kubectl flag {name} is not supported by ambientctl (use a kubeconfig context "
                            "that carries it, with --context)")
        if name in PASSED:
            if value is None:
                if i + 1 >= len(argv):
                    raise FlagError(f"flag needs an argument: {name}")
                value = argv[i + 1]
                i += 1
            if name == "--request-timeout":
                value = seconds(value)
            if not rest:
                lead.append(("--namespace" if name == "-n" else name, value))
            else:
                rest += [name, value]
        else:
            rest.append(word)
        i += 1
    if not lead:
        return rest
    # The command path: the subcommand words argparse will descend through.
    parser = build_parser()
    node = parser
    for word in rest:
        subs = [a for a in node._actions if a.__class__.__name__ == "_SubParsersAction"]
        if not subs or word not in subs[0].choices:
            break
        node = subs[0].choices[word]
    accepted = node._option_string_actions
    if node is parser:  # no command: the interactive app, which takes source options at the top level
        return [w for name, value in lead if name in accepted for w in (name, value)] + rest
    return rest + [w for name, value in lead if name in accepted for w in (name, value)]


def main(argv: list[str] | None = None) -> int:
    from ambientctl.cli.main import main as ambientctl_main
    from ambientctl.errors import EXIT_USAGE

    try:
        args = translate(sys.argv[1:] if argv is None else argv)
    except FlagError as e:
        print(f"kubectl ambient: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    return ambientctl_main(args)
