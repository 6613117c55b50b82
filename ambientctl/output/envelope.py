"""The JSON/YAML envelope: `{"apiVersion": "ambientctl/v1", "kind": <Kind>, ...body}`.

Support engineers paste this into tickets and scripts parse it, so keys are stable and versioned by
apiVersion. Text output is a separate, human view of the same document.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

API_VERSION = "ambientctl/v1"


def envelope(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, **body}


def to_json(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def to_yaml(doc: Any) -> str:
    import yaml

    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False)


def emit(doc: dict[str, Any], fmt: str, text: Callable[[dict[str, Any], TextIO], None], out: TextIO | None = None) -> None:
    """Write `doc` as json, yaml, or through the command's text renderer."""
    out = out or sys.stdout
    if fmt == "json":
        out.write(to_json(doc))
    elif fmt == "yaml":
        out.write(to_yaml(doc))
    elif fmt == "text":  # names, labels and log fields are shown, never acted on by the terminal
        from ambientctl.unicode import visible_doc

        text(visible_doc(doc), out)
    else:  # an output plugin's format (ambientctl.outputs.v1)
        from ambientctl.plugins import write_output

        write_output(doc, fmt, out)
