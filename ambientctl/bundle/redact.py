"""What a support bundle must not carry, found and replaced before anything is written: bearer tokens and JWTs,
Authorization/Cookie-style header values, PEM private keys, kubeconfig credentials, values of env vars and
fields named like secrets, and TLS key logs (dropped whole unless the user asks for keys). Pure: text and
decoded documents in, redacted copies and counts out.

Replaced values read `<redacted:WHAT>`, so a reader sees that something was there and what kind it was.
A policy that matches a literal bearer token or JWT would change meaning when redacted; such values are rare and
are themselves credentials, so they are redacted too (the manifest counts them)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

# Header lines and key=value log fields whose value is a credential (access logs, curl -v, Envoy dumps).
SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token",
                  "x-amz-security-token")
_HEADER = re.compile(r"(?i)(?P<name>\b(?:" + "|".join(re.escape(h) for h in SECRET_HEADERS) + r"))"
                     r"(?P<sep>\"?\s*[:=]\s*\"?)(?P<value>[^\"\r\n,}]+)")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_PEM_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----.*?(?:-----END (?:[A-Z0-9]+ )?PRIVATE KEY-----|\Z)",
                      re.DOTALL)
_KEYLOG_LINE = re.compile(r"(?m)^(?:CLIENT_RANDOM|CLIENT_EARLY_TRAFFIC_SECRET|CLIENT_HANDSHAKE_TRAFFIC_SECRET|"
                          r"SERVER_HANDSHAKE_TRAFFIC_SECRET|CLIENT_TRAFFIC_SECRET_\d+|SERVER_TRAFFIC_SECRET_\d+|"
                          r"EXPORTER_SECRET|EARLY_EXPORTER_SECRET) [0-9a-fA-F]+ [0-9a-fA-F]+\s*$")
# Mapping keys whose values are credentials wherever they appear (kubeconfigs, env vars, Helm values, ...).
_SECRET_KEY = re.compile(r"(?i)^(?:.*[_-])?(?:token|password|passwd|secret|client-key-data|client-key|"
                         r"private[_-]?key|api[_-]?key|access[_-]?key|credentials?)$")


def looks_like_keylog(text: str) -> bool:
    """An NSS key log (what SSLKEYLOGFILE writes): every non-comment line is one secret."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return bool(lines) and all(_KEYLOG_LINE.match(ln) for ln in lines)


def redact_text(text: str, counts: Counter[str] | None = None) -> str:
    """`text` with every credential replaced; `counts` (if given) gains one per replacement, by kind."""
    c = counts if counts is not None else Counter()

    def sub(pattern: re.Pattern[str], what: str, repl: Any, s: str) -> str:
        new, n = pattern.subn(repl, s)
        if n:
            c[what] += n
        return new

    text = sub(_PEM_KEY, "private-key", "<redacted:private-key>", text)
    text = sub(_KEYLOG_LINE, "tls-key-log", "<redacted:tls-key-log>", text)
    text = sub(_HEADER, "header", lambda m: f"{m['name']}{m['sep']}<redacted:{m['name'].lower()}>", text)
    text = sub(_BEARER, "bearer-token", lambda m: f"{m.group(1)} <redacted:token>", text)
    return sub(_JWT, "jwt", "<redacted:jwt>", text)


def redact_doc(doc: Any, counts: Counter[str] | None = None) -> Any:
    """A copy of a decoded JSON/YAML document with credentials replaced: values under secret-named keys (and
    `env` entries whose name is secret-like), and every string through redact_text."""
    c = counts if counts is not None else Counter()
    if isinstance(doc, dict):
        out: dict[str, Any] = {}
        env_name = doc.get("name") if isinstance(doc.get("name"), str) and "value" in doc else None
        for k, v in doc.items():
            if isinstance(k, str) and _SECRET_KEY.match(k) and isinstance(v, str | int) and v != "":
                c["secret-field"] += 1
                out[k] = f"<redacted:{k}>"
            elif k == "value" and env_name and _SECRET_KEY.match(env_name) and isinstance(v, str) and v:
                c["secret-env"] += 1
                out[k] = f"<redacted:{env_name}>"
            else:
                out[k] = redact_doc(v, c)
        return out
    if isinstance(doc, list):
        return [redact_doc(v, c) for v in doc]
    if isinstance(doc, str):
        return redact_text(doc, c)
    return doc
