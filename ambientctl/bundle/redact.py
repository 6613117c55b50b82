"""Credential shapes in values that a bundle must keep (names, labels, log lines, report text), replaced where they
appear: PEM and PGP blocks (also base64-encoded), URL userinfo, JWTs, `Bearer`/`Basic` tokens, values of keys
named like secrets (`password=`, `--token x`, `"clientSecret": "…"`, `access_token=` in a query string,
`Authorization:`/`Cookie:`/`X-Api-Key:` headers, anywhere in the key: `API_TOKEN_V2`, `PGPASSWORD`, `MYSQL_PWD`),
long high-entropy base64/hex runs, and TLS key log lines. Pure: text and decoded documents in, redacted copies and
counts out.

This is the second line of defence: what a bundle holds at all is decided by allow-list (ambientctl.bundle.allow);
values that pass it are scanned here. Only the secret value is replaced, by `<redacted:WHAT>`; the key, the quotes
and the rest of the line stay, so a log line keeps its path, status and timing. A policy that matches a literal
token would change meaning when redacted; such values are themselves credentials, so they are redacted too (the
manifest counts them)."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from typing import Any

# A key (header name, env var, flag, JSON/YAML field, query parameter) whose value is a credential. Anywhere in the
# key and in any case: API_TOKEN_V2, PGPASSWORD, MYSQL_PWD, clientSecret, SECRET_KEY, ADMIN_PASS, x-api-key.
# `auth` but not `authority` (the HTTP :authority is a host name) nor `author`.
SECRET_WORDS = (r"passw|passphrase|pwd|(?<![a-z])pass(?![a-z])|secret|token|api[-_.]?key|access[-_.]?key|private|"
                r"credential|auth(?!or(?!i[sz]ation))|session(?!affinity)|cookie|signature|(?<![a-z])sig(?![a-z])|"
                r"(?<![a-z])otp(?![a-z])|bearer|jwt|client[-_.]?key|key[-_.]?data|(?:ssh|signing|encryption|master)[-_.]?key")
SECRET_KEY = re.compile(rf"(?i)(?:{SECRET_WORDS})")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# the first letters of every alternative of SECRET_WORDS
_LEADS = ("pass", "pwd", "secret", "token", "api", "access", "private", "credential", "auth", "session", "cookie",
          "sig", "otp", "bearer", "jwt", "client", "key", "ssh", "signing", "encryption", "master")
_NO_VALUE = frozenset({"null", "none", "nil", "true", "false", "undefined", "-", "***", "<none>"})
_WORD = r"[^\s\"'&,;)}\]<>\[{][^\s\"'&,;)}\]<>]*"
_SCHEMES = r"(?:Bearer|Basic|Digest|Token|Negotiate|NTLM|ApiKey|AWS4-HMAC-SHA256|HOBA|Mutual)"
_QUOTED = r"(?<=\")[^\"\r\n]*(?=\")|(?<=')[^'\r\n]*(?=')"
_SEP = r"(?P<sep>\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?)"
# What follows a secret-ish key: a separator and the value — a quoted string up to its closing quote, else an auth
# scheme and its token, else one word; after a Cookie key the whole `a=1; b=2` list; after a --flag, also its next
# argument.
_AFTER_KEY = re.compile(_SEP + rf"(?:(?P<value_q>{_QUOTED})|(?P<scheme>{_SCHEMES}[ \t]+)?(?P<value>{_WORD}))")
_AFTER_COOKIE = re.compile(_SEP + rf"(?P<value>{_QUOTED}|{_WORD}(?:;[ \t]*{_WORD})*)")
_AFTER_FLAG = re.compile(rf"(?P<sep>[ \t]+\\?[\"']?)(?P<value>{_QUOTED}|[^\s\"'-][^\s\"']*)")
_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_NOT_BEFORE_KEY = _KEY_CHARS | frozenset("/@:<\\")
_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]{1,60}-----.*?(?:-----END [A-Z0-9 ]{1,60}-----|\Z)", re.DOTALL)
# "-----BEGIN" base64-encoded at any of the three alignments, and the rest of that base64 text
_PEM_B64 = re.compile(r"(?:LS0tLS1CRUdJTi|0tLS0tQkVHSU4|tLS0tLUJFR0lO)[A-Za-z0-9+/=]*"
                      r"(?:(?:\\n|\r?\n)[ \t]*[A-Za-z0-9+/=]{16,}(?=[ \t]*(?:\r?\n|\\n|$)))*")  # wrapped lines
_USERINFO = re.compile(r"(?i)\b(?P<scheme>[a-z][a-z0-9+.-]{1,20}://)(?P<userinfo>[^\s/?#@\"'<>]+)@")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2}")
_BEARER = re.compile(r"\b(?P<scheme>(?i:bearer|basic))[ \t]+(?P<value>(?!<redacted)[A-Za-z0-9._~+/=-]{8,})")
_HEX = re.compile(r"(?<![A-Za-z0-9+/_-])(?P<value>[0-9a-fA-F]{32,})(?![A-Za-z0-9+/_-])")
_B64 = re.compile(r"(?<![A-Za-z0-9+/=_-])(?P<value>[A-Za-z0-9+/]{32,}={0,2})(?![A-Za-z0-9+/=_-])")
_B64URL = re.compile(r"(?<![A-Za-z0-9+/=_-])(?P<value>[A-Za-z0-9_-]{32,}={0,2})(?![A-Za-z0-9+/=_-])")
# an image reference's tag up to here (`gcr.io/istio-testing/pilot:0.0.0-ambient.<git sha>`)
_IMAGE_TAG = re.compile(r"(?:^|[\s\"'=])[a-z0-9][a-z0-9.-]*(?::\d+)?/[\w./-]+:[\w.-]*$")
_DIGEST = re.compile(r"(?i)(?:sha(?:1|224|256|384|512)|md5)[:=]$")
KEYLOG_LINE = re.compile(r"(?m)^(?:CLIENT_RANDOM|CLIENT_EARLY_TRAFFIC_SECRET|CLIENT_HANDSHAKE_TRAFFIC_SECRET|"
                         r"SERVER_HANDSHAKE_TRAFFIC_SECRET|CLIENT_TRAFFIC_SECRET_\d+|SERVER_TRAFFIC_SECRET_\d+|"
                         r"EXPORTER_SECRET|EARLY_EXPORTER_SECRET) [0-9a-fA-F]+ [0-9a-fA-F]+[ \t\r]*$")


def looks_like_keylog(text: str) -> bool:
    """An NSS key log (what SSLKEYLOGFILE writes): every non-comment line is one secret."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return bool(lines) and all(KEYLOG_LINE.match(ln) for ln in lines)


def _entropy(s: str) -> float:
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def _class(ch: str) -> int:
    return 0 if ch.isupper() else 1 if ch.islower() else 2 if ch.isdigit() else 3


def _high_entropy(s: str) -> bool:
    """A token rather than a word or a path: upper, lower and digits mixed as in random text (a random base64 string
    changes character class at about 2 of 3 positions; words, names and paths rarely), and a spread alphabet."""
    s = s.rstrip("=")
    classes = [_class(ch) for ch in s]
    if min(classes.count(0), classes.count(1), classes.count(2)) < 2:
        return False
    changes = sum(a != b for a, b in itertools.pairwise(classes)) / (len(s) - 1)
    return changes >= 0.35 and _entropy(s) >= 3.8


def redact_text(text: str, counts: Counter[str] | None = None, *, tokens: bool = True) -> str:
    """`text` with every credential replaced; `counts` (if given) gains one per replacement, by kind. `tokens=False`
    skips the high-entropy rule (container images: `…:0.0.0-ambient.<git sha>` and digests name content)."""
    c = counts if counts is not None else Counter()

    def sub(pattern: re.Pattern[str], what: str, repl: Any, s: str) -> str:
        new, n = pattern.subn(repl, s)
        if n:
            c[what] += n
        return new

    # each shape is looked for only where its fixed part occurs (str `in` is far cheaper than a regex over a big log)
    if "-----BEGIN " in text:
        text = sub(_PEM, "pem-block", "<redacted:pem-block>", text)
    if any(b in text for b in ("LS0tLS1CRUdJT", "0tLS0tQkVHSU4", "tLS0tLUJFR0lO")):
        text = sub(_PEM_B64, "pem-block", "<redacted:pem-block>", text)
    if "_SECRET" in text or "CLIENT_RANDOM" in text:
        text = sub(KEYLOG_LINE, "tls-key-log", "<redacted:tls-key-log>", text)
    if "://" in text and "@" in text:
        text = sub(_USERINFO, "url-userinfo", lambda m: f"{m['scheme']}<redacted:userinfo>@", text)
    if "eyJ" in text:
        text = sub(_JWT, "jwt", "<redacted:jwt>", text)
    text = _key_values(text, c)
    low = text.translate(_ASCII_LOWER)
    if "bearer" in low or "basic" in low:
        text = sub(_BEARER, "bearer-token", lambda m: f"{m['scheme']} <redacted:token>", text)

    def token(m: re.Match[str]) -> str:
        v = m["value"]
        before = text[max(0, m.start() - 200):m.start()]
        if _DIGEST.search(before[-8:]) or _IMAGE_TAG.search(before):  # names content or a build: no secret
            return v
        if m.re is _HEX and _entropy(v) < 3.0:
            return v
        if m.re is not _HEX and not _high_entropy(v):
            return v
        c["high-entropy"] += 1
        return "<redacted:token>"

    if not tokens:
        return text
    text = _HEX.sub(token, text)
    text = _B64.sub(token, text)
    return _B64URL.sub(token, text)


def _secret_words(text: str) -> list[re.Match[str]]:
    """SECRET_KEY's matches, found by str.find of each word's first letters (C speed) and confirmed by an anchored
    match: a case-insensitive alternation tried at every position of a 50 MB log is what made bundles slow."""
    low = text.translate(_ASCII_LOWER)  # str.lower() may change the length (İ), and so every index after it
    starts: set[int] = set()
    for lead in _LEADS:
        i = low.find(lead)
        while i >= 0:
            starts.add(i)
            i = low.find(lead, i + 1)
    hits = []
    for i in sorted(starts):
        m = SECRET_KEY.match(text, i)
        if m is not None and (not hits or i >= hits[-1].end()):
            hits.append(m)
    return hits


def _key_values(text: str, c: Counter[str]) -> str:
    """The value after every secret-ish key (`password=…`, `"clientSecret": "…"`, `--token …`, `Cookie: …`)
    replaced. Found from the secret word outwards, so the scan stays linear on long logs."""
    out, done = [], 0
    for hit in _secret_words(text):
        if hit.start() < done:
            continue
        start = hit.start()
        while start > 0 and text[start - 1] in _KEY_CHARS and hit.start() - start < 40:
            start -= 1
        if start > 0 and text[start - 1] in _NOT_BEFORE_KEY:  # inside a host:port, a URL path or a placeholder
            continue
        end = hit.end()
        while end < len(text) and text[end] in _KEY_CHARS and end - hit.end() < 40:
            end += 1
        key = text[start:end]
        m = (_AFTER_COOKIE if "cookie" in key.lower() else _AFTER_KEY).match(text, end)
        if m is None and key.startswith("--"):
            m = _AFTER_FLAG.match(text, end)
        if m is None:
            continue
        vstart, vend = (m.span("value_q") if m.groupdict().get("value_q") is not None else m.span("value"))
        value = text[vstart:vend]
        if not value or value.startswith("<redacted:") or value.lower() in _NO_VALUE:
            continue
        out.append(text[done:vstart] + f"<redacted:{key.lstrip('-').lower()}>")
        done = vend
        c["secret-value"] += 1
    return "".join(out) + text[done:] if out else text


def redact_doc(doc: Any, counts: Counter[str] | None = None, *, by_key: bool = True) -> Any:
    """A copy of a decoded JSON/YAML document with credentials replaced: every string (and mapping key) through
    redact_text; with `by_key`, also scalar values under secret-named keys and the `value` of a
    `{"name": SECRET-NAME, "value": …}` pair (env vars, header matches)."""
    c = counts if counts is not None else Counter()
    if isinstance(doc, dict):
        out: dict[Any, Any] = {}
        pair_name = doc.get("name") if by_key and isinstance(doc.get("name"), str) and "value" in doc else None
        for k, v in doc.items():
            key = redact_text(k, c) if isinstance(k, str) else k
            secret_key = by_key and isinstance(k, str) and SECRET_KEY.search(k)
            if secret_key and isinstance(v, str | int | float) and not isinstance(v, bool) and v != "" and \
                    not str(v).startswith("<redacted:"):
                c["secret-field"] += 1
                out[key] = f"<redacted:{k.lower()[:40]}>"
            elif k == "value" and pair_name and SECRET_KEY.search(pair_name) and isinstance(v, str | int) and \
                    v != "" and not str(v).startswith("<redacted:"):
                c["secret-field"] += 1
                out[key] = f"<redacted:{pair_name.lower()[:40]}>"
            else:
                out[key] = redact_doc(v, c, by_key=by_key)
        return out
    if isinstance(doc, list):
        return [redact_doc(v, c, by_key=by_key) for v in doc]
    if isinstance(doc, str):
        return redact_text(doc, c)
    return doc
