"""One module per top-level command. Each defines `add_parser(subparsers)` and `run(args) -> int`.

Modules here must import only the standard library at top level: `ambientctl --help` and shell completion
import all of them, and must start fast. Heavy imports go inside `run`.
"""

# Order is the order shown in `ambientctl --help`.
COMMANDS: list[str] = [
    "describe",
    "explain",
    "decode",
    "logs",
    "trace",
    "capture",
    "snapshot",
    "bundle",
    "ui",
    "mcp",
    "plugins",
    "completion",
]
