"""Test-only: one movable clock for every Python process of an end-to-end test.

Put this directory on ``PYTHONPATH`` and set ``JOURNEYS_TEST_CLOCK_FILE`` to a file that
holds an offset in seconds: each Python process started so (gunicorn and its workers, a
``qcluster`` and its workers) then runs ``time-machine`` at the real time plus that
offset, and follows the file when it changes (a thread polls it every 50 ms; a forked
child starts its own), so a test moves the whole site's time on without restarting
anything. Only the wall clock moves (``time.time``, ``datetime.now``, Django's
``timezone.now``); monotonic clocks, sleeps and timeouts do not. Without the variable
this file does nothing. See ``tests/test_journey_e2e.py``.
"""

import os

_FILE = os.environ.get("JOURNEYS_TEST_CLOCK_FILE")

if _FILE:
    import threading
    import time

    import time_machine

    def _offset() -> float:
        try:
            with open(_FILE) as file:
                return float(file.read().strip() or 0)
        except (OSError, ValueError):  # not written yet: the real time
            return 0.0

    _current = _offset()
    _traveller = time_machine.travel(time.time() + _current, tick=True).start()

    def _follow() -> None:
        global _current
        while True:
            time.sleep(0.05)
            wanted = _offset()
            if wanted != _current:
                _traveller.shift(wanted - _current)
                _current = wanted

    def _start_following() -> None:
        threading.Thread(target=_follow, name="test clock", daemon=True).start()

    _start_following()
    os.register_at_fork(after_in_child=_start_following)
