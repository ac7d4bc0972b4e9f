"""Run every ``benchmarks/bench_*.py`` in its own process and stream what it prints.

``make bench`` calls this. Each benchmark prints lines ``bench NAME: VALUE UNIT (budget
BUDGET)``; they are repeated at the end as a summary. Exits non-zero if one failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(selected: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if selected:
        scripts = [s for s in scripts if any(name in s.stem for name in selected)]
    figures: list[str] = []
    failed: list[str] = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-u", str(script)],
            cwd=HERE.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            if line.startswith("bench "):
                figures.append(line.rstrip())
        if process.wait() != 0:
            failed.append(script.name)
        print(f"== {script.name}: {time.monotonic() - started:.0f} s", flush=True)
    print("\n== summary")
    for line in figures:
        print(line)
    for name in failed:
        print(f"FAILED {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
