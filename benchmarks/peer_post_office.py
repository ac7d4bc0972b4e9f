"""django-post-office sending the same mails, for ``bench_send.py``'s peer comparison.

Runs in a virtualenv of its own (``bench_send.py`` makes it: Django and
django-post-office, nothing of this project), on a SQLite file in a temporary directory:
queues one personalised mail per contact (``mail.send_many``), then sends the queue
(``send_queued``, one process, its default threads) through Django's SMTP backend to
the sink on ``--port``. Prints ``bench`` lines. Usage (by ``bench_send.py``):
``python peer_post_office.py --port P --contacts N --html FILE --text FILE``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--html", required=True)
    parser.add_argument("--text", required=True)
    args = parser.parse_args()
    html = open(args.html, encoding="utf-8").read()  # noqa: SIM115
    text = open(args.text, encoding="utf-8").read()  # noqa: SIM115
    tmp = tempfile.mkdtemp(prefix="peer-post-office-")

    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "post_office"],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": f"{tmp}/db.sqlite3"}
        },
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=args.port,
        DEFAULT_FROM_EMAIL="Shop <shop@example.com>",
        USE_TZ=True,
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
        POST_OFFICE={"BATCH_SIZE": args.contacts, "LOG_LEVEL": 0, "CELERY_ENABLED": False},
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from post_office import mail
    from post_office.mail import send_queued
    from post_office.models import STATUS, Email

    names = ["Chloé", "Bruno", "Zoë", "Ann", "Ève", "Raj", "Mia", "Léo"]
    started = time.perf_counter()
    mail.send_many(
        [
            {
                "recipients": [f"peer{n}@example.com"],
                "sender": "Shop <shop@example.com>",
                "subject": f"New this week for {names[n % len(names)]}",
                "message": text.replace("{name}", names[n % len(names)]),
                "html_message": html.replace("{name}", names[n % len(names)]),
                "headers": {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
            }
            for n in range(args.contacts)
        ]
    )
    queued = time.perf_counter() - started
    started = time.perf_counter()
    send_queued(processes=1, log_level=0)
    sending = time.perf_counter() - started
    sent = Email.objects.filter(status=STATUS.sent).count()
    print(f"bench peer_post_office_send: {sent / sending:,.1f} msgs/s (budget info)", flush=True)
    print(
        f"bench peer_post_office_queue_and_send: {sent / (queued + sending):,.1f} msgs/s "
        "(budget info)",
        flush=True,
    )
    print(f"bench peer_post_office_sent: {sent:,.1f} msgs (budget = {args.contacts})", flush=True)
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)


if __name__ == "__main__":
    main()
