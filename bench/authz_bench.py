"""authz speed: build a PolicyIndex for 500 policies over 5,000 pods, then decide a 40,000-pair matrix.

Prints absolute times and the ratio to a baseline measured in the same run (one trivial `evaluate` of an empty
policy list per pair), so results compare across machines. Run: .venv/bin/python bench/authz_bench.py
"""

from __future__ import annotations

import random
import time

from ambientctl.authz.evaluate import Connection, PolicyIndex, evaluate
from ambientctl.model import parse_object


def _policies(n_ns: int, n: int) -> list:
    rnd = random.Random(7)
    out = []
    for i in range(n):
        ns = f"ns{i % n_ns}"
        action = "DENY" if i % 5 == 0 else "ALLOW"
        rule = {"from": [{"source": {"principals": [f"cluster.local/ns/ns{rnd.randrange(n_ns)}/sa/sa{rnd.randrange(20)}"],
                                     "ipBlocks": ["10.0.0.0/8"]}}],
                "to": [{"operation": {"ports": [str(8000 + rnd.randrange(5))]}}]}
        if i % 7 == 0:
            rule["to"][0]["operation"]["methods"] = ["GET"]  # an HTTP attribute: dropped / stripped at ztunnel
        spec = {"action": action, "rules": [rule]}
        if i % 3:
            spec["selector"] = {"matchLabels": {"app": f"app{i % 50}"}}
        out.append(parse_object({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                                 "metadata": {"name": f"p{i}", "namespace": ns}, "spec": spec}, "bench"))
    return out


def main() -> None:
    n_ns = 50
    pods = [(f"ns{i % n_ns}", {"app": f"app{i % 50}"}, f"10.{i // 250}.{i % 250}.1", f"sa{i % 20}") for i in range(5000)]
    t0 = time.perf_counter()
    idx = PolicyIndex.build(_policies(n_ns, 500))
    build = time.perf_counter() - t0
    rnd = random.Random(1)
    pairs = [(rnd.choice(pods), rnd.choice(pods)) for _ in range(40_000)]
    conns = [Connection(s[2], d[2], 8000 + i % 5, f"spiffe://cluster.local/ns/{s[0]}/sa/{s[3]}")
             for i, (s, d) in enumerate(pairs)]
    t0 = time.perf_counter()
    for c in conns:
        evaluate([], c, trace=False)
    base = time.perf_counter() - t0
    t0 = time.perf_counter()
    denied = sum(not idx.evaluate(d[0], d[1], c, trace=False).allowed for (s, d), c in zip(pairs, conns, strict=True))
    matrix = time.perf_counter() - t0
    t0 = time.perf_counter()
    for (_s, d), c in list(zip(pairs, conns, strict=True))[:1000]:
        idx.evaluate(d[0], d[1], c, trace=True)
    traced = (time.perf_counter() - t0) / 1000
    print(f"index build (500 policies): {build * 1000:.1f} ms")
    print(f"matrix 40,000 pairs untraced: {matrix:.2f} s ({denied} denied); baseline {base:.3f} s; "
          f"ratio {matrix / base:.1f}x")
    print(f"one traced explain decision: {traced * 1e6:.0f} us")


if __name__ == "__main__":
    main()
