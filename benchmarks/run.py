"""Run every ``benchmarks/bench_*.py`` in its own process and stream its figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    status = 0
    for bench in sorted(HERE.glob("bench_*.py")):
        print(f"# {bench.name}", flush=True)
        status = subprocess.call([sys.executable, str(bench)], cwd=HERE.parent) or status
    return status


if __name__ == "__main__":
    sys.exit(main())
