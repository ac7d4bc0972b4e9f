"""Run the whole suite: on SQLite always, then on PostgreSQL when it is reachable.

``JOURNEYS_REQUIRE_SERVICES=1`` (set by ``.ci/run``) turns an unreachable PostgreSQL or
Redis into a failure instead of a skip. Extra arguments go to pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services import postgres_reachable, redis_reachable  # noqa: E402


def pytest(env: dict[str, str], *args: str) -> int:
    command = [sys.executable, "-m", "pytest", *args, *sys.argv[1:]]
    print("+", " ".join(command), flush=True)
    return subprocess.call(command, cwd=ROOT, env=env)


def main() -> int:
    required = os.environ.get("JOURNEYS_REQUIRE_SERVICES") == "1"
    pg, redis = postgres_reachable(), redis_reachable()
    print(f"services: postgres={'up' if pg else 'down'} redis={'up' if redis else 'down'}")
    if required and not (pg and redis):
        print("JOURNEYS_REQUIRE_SERVICES=1 but a service is unreachable", file=sys.stderr)
        return 2
    base = {k: v for k, v in os.environ.items() if k not in ("JOURNEYS_DB",)}
    status = pytest({**base, "JOURNEYS_DB": "sqlite"}, "-m", "not postgres")
    if pg:
        status = pytest({**base, "JOURNEYS_DB": "postgres"}, "-m", "not browser") or status
    return status


if __name__ == "__main__":
    sys.exit(main())
