#!/usr/bin/env python3
"""Run the fuzz targets of tests/fuzz unbounded, for a while, outside the test suite.

usage: .venv/bin/python -m tests.fuzz.run [--minutes N] [--target NAME ...] [--out DIR]

Each target is fed Hypothesis-generated inputs in rounds until the time is up; every problem (traceback, wrong
exit code, more than one stderr line, file left behind) is counted under its first line (one key per distinct
crash: exception type and innermost ambientctl frame) and its first example is written to DIR/<n>.txt.
Prints the number of inputs tried per target and the distinct problems found.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings

from tests.fuzz import targets
from tests.fuzz.targets import TARGETS


def make_round(name: str, tried: collections.Counter[str], found: dict[str, tuple[int, str]],
               out: Path) -> Callable[[], None]:
    target = TARGETS[name]

    @settings(max_examples=25, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(target.strategy)
    def one(x):  # type: ignore[no-untyped-def]
        tried[name] += 1
        problem = target.check(x)
        if problem:
            key = f"{name}: {re.sub(r'[0-9]+', 'N', problem.splitlines()[0])[:160]}"
            n, ex = found.get(key, (0, problem))
            if not n:
                case = out / str(len(found) + 1)
                case.mkdir(parents=True, exist_ok=True)
                (case / "problem.txt").write_text(f"{key}\n{ex}\n", errors="backslashreplace")
                for fname, data in targets.LAST_INPUT.items():
                    (case / fname).parent.mkdir(parents=True, exist_ok=True)
                    (case / fname).write_bytes(data)
                print(f"NEW {key}", flush=True)
            found[key] = (n + 1, ex)

    return one


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--target", action="append", choices=sorted(TARGETS))
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "ambientctl-fuzz-findings")
    args = ap.parse_args()
    names = args.target or sorted(TARGETS)
    args.out.mkdir(parents=True, exist_ok=True)
    targets.saved_trace()  # one real saved trace, made before any generation
    tried: collections.Counter[str] = collections.Counter()
    found: dict[str, tuple[int, str]] = {}
    start = time.monotonic()
    end = start + 60 * args.minutes
    while time.monotonic() < end:
        for name in names:
            try:
                make_round(name, tried, found, args.out)()
            except Exception as e:  # the generator itself failed: say so, keep fuzzing the other targets
                print(f"HARNESS {name}: {type(e).__name__}: {str(e)[:200]}", flush=True)
            if time.monotonic() >= end:
                break
    print(f"{time.monotonic() - start:.0f} s, inputs tried: {sum(tried.values())} "
          f"({', '.join(f'{k} {v}' for k, v in sorted(tried.items()))})")
    print(f"distinct problems: {len(found)} (first example of each in {args.out})")
    for key, (n, _) in sorted(found.items(), key=lambda kv: -kv[1][0]):
        print(f"  {n:5d}  {key}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
