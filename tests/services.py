"""Is PostgreSQL / Redis reachable? Used by the runner and by the test markers."""

from __future__ import annotations

import os
import socket


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def postgres_reachable() -> bool:
    return _port_open(os.environ.get("JOURNEYS_PG_HOST", "127.0.0.1"), 5432)


def redis_reachable() -> bool:
    if not _port_open("127.0.0.1", 6379):
        return False
    try:
        import redis

        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping())
    except Exception:
        return False


def services_required() -> bool:
    return os.environ.get("JOURNEYS_REQUIRE_SERVICES") == "1"
