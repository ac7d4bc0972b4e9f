"""What the Chromium tests share: Debian's browser, its flags and a live server.

The server is Django's own ``LiveServerThread`` on a free port (``processes.free_port``,
confined by ``JOURNEYS_TEST_PORTS``), serving static files too; the test's database must
be a transactional one (``transactional_db``), since the browser's requests come from
another thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.test.testcases import LiveServerThread

from .processes import free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextmanager
def live_server() -> Iterator[str]:
    """Serve the site on loopback for the block; yield its base URL."""
    port = free_port()
    thread = LiveServerThread("127.0.0.1", StaticFilesHandler, port=port)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        thread.terminate()
