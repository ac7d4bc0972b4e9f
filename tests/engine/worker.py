"""A worker process for the concurrency tests: advance due enrolments until none is left."""

import os
import sys
import time

import django
from django.core.mail.backends.filebased import EmailBackend


class SlowFileBackend(EmailBackend):
    """File backend that takes its time, so a SIGKILL lands mid-batch."""

    def send_messages(self, email_messages):
        time.sleep(0.01)
        return super().send_messages(email_messages)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.engine.worker_settings")
    django.setup()
    from wagtail_journeys.engine.advance import advance_due

    total = 0
    while True:
        done = advance_due(max_batches=10)
        total += done
        if not done:
            break
    sys.stdout.write(f"{total}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
