"""ambientctl's own plugins, registered in its pyproject.toml exactly as a third party would: the json and yaml
output formats and the HTTP/1.x decoder for what apps send through HBONE tunnels (most meshed traffic)."""

from __future__ import annotations

import re
from typing import Any, TextIO

from ambientctl.plugins.api import Decoded, InnerStream

REQUEST = re.compile(rb"^([A-Z]{3,10}) (\S+) (HTTP/1\.[01])$")
STATUS = re.compile(rb"^(HTTP/1\.[01]) (\d{3})(?: (.*))?$")
MAX_MESSAGES = 50
# Headers worth showing; credentials (authorization, cookie) are never picked.
REQUEST_HEADERS = ("host", "content-type", "content-length", "transfer-encoding", "user-agent", "x-request-id")
RESPONSE_HEADERS = ("content-type", "content-length", "transfer-encoding", "server")


def json_output(doc: dict[str, Any], out: TextIO) -> None:
    from ambientctl.output.envelope import to_json

    out.write(to_json(doc))


def yaml_output(doc: dict[str, Any], out: TextIO) -> None:
    from ambientctl.output.envelope import to_yaml

    out.write(to_yaml(doc))


def _messages(data: bytes, is_client: bool) -> list[dict[str, Any]]:
    """HTTP/1.x messages of one direction: start line and a few headers; bodies are skipped by Content-Length
    or chunked framing. Stops at the first thing that is not HTTP/1.x (e.g. after an Upgrade)."""
    out: list[dict[str, Any]] = []
    pos = 0
    while pos < len(data) and len(out) < MAX_MESSAGES:
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            break
        lines = data[pos:end].split(b"\r\n")
        m = (REQUEST if is_client else STATUS).match(lines[0])
        if not m:
            break
        headers: dict[str, str] = {}
        for line in lines[1:]:
            k, sep, v = line.partition(b":")
            if sep:
                headers.setdefault(k.strip().lower().decode("latin-1"), v.strip().decode("latin-1"))
        msg: dict[str, Any] = {"direction": "client" if is_client else "server"}
        if is_client:
            msg |= {"method": m[1].decode(), "target": m[2].decode("latin-1"), "version": m[3].decode()}
        else:
            msg |= {"version": m[1].decode(), "status": int(m[2]), "reason": (m[3] or b"").decode("latin-1")}
        msg |= {k: headers[k] for k in (REQUEST_HEADERS if is_client else RESPONSE_HEADERS) if k in headers}
        out.append(msg)
        pos = end + 4
        if headers.get("transfer-encoding", "").lower().endswith("chunked"):
            while True:
                eol = data.find(b"\r\n", pos)
                if eol < 0:
                    return out
                try:
                    size = int(data[pos:eol].split(b";")[0], 16)
                except ValueError:
                    return out
                pos = eol + 2 + size + 2
                if size == 0:
                    break
        else:
            try:
                pos += int(headers.get("content-length", "0"))
            except ValueError:
                break
        if headers.get("upgrade") or msg.get("status") == 101:
            break
    return out


def http1(stream: InnerStream) -> Decoded | None:
    """HTTP/1.x requests and responses: method, target, status and content headers."""
    requests = _messages(stream.client, True)
    responses = _messages(stream.server, False)
    if not requests and not responses:
        return None
    first = requests[0] if requests else None
    status = responses[0] if responses else None
    summary = " ".join(x for x in (
        f"{first['method']} {first['target']}" if first else "",
        f"→ {status['status']}" if status else "→ no response",
        f"({len(requests)} requests)" if len(requests) > 1 else "",
    ) if x)
    version = (first or status or {}).get("version", "HTTP/1.1")
    msgs = [m for pair in zip(requests, responses, strict=False) for m in pair]
    msgs += requests[len(msgs) // 2:] if len(requests) > len(responses) else responses[len(msgs) // 2:]
    return Decoded(protocol=version.lower(), messages=msgs[:MAX_MESSAGES], summary=summary)
