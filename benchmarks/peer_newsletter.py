"""django-newsletter sending the same mails, for ``bench_send.py``'s peer comparison.

Runs in the virtualenv ``bench_send.py`` makes for its peers (Django, django-post-office,
django-newsletter; nothing of this project), on a SQLite file in a temporary directory:
one newsletter, a subscription per contact, a message whose templates are the same
rendered mail with the subscriber's name in it, then ``Submission.submit()`` as its
``submit_newsletter`` command runs it (it renders and sends each message with
``EmailMessage.send()``, which opens a connection per message) through Django's SMTP
backend to the sink on ``--port``. Prints ``bench`` lines. Usage (by ``bench_send.py``):
``python peer_newsletter.py --port P --contacts N --html FILE --text FILE``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def template(text: str) -> str:
    """The mail as a Django template: verbatim but for the subscriber's name."""
    pieces = text.split("{name}")
    return (
        "{% verbatim %}"
        + ("{% endverbatim %}{{ subscription.name }}{% verbatim %}".join(pieces))
        + "{% endverbatim %}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--html", required=True)
    parser.add_argument("--text", required=True)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="peer-newsletter-"))
    folder = tmp / "templates" / "newsletter" / "message"
    folder.mkdir(parents=True)
    (folder / "message.html").write_text(template(Path(args.html).read_text()))
    (folder / "message.txt").write_text(template(Path(args.text).read_text()))
    (folder / "message_subject.txt").write_text("New this week for {{ subscription.name }}")
    (tmp / "peer_urls.py").write_text(
        "from django.urls import include, path\n"
        "urlpatterns = [path('newsletter/', include('newsletter.urls'))]\n"
    )
    sys.path.insert(0, str(tmp))

    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sites",
            "sorl.thumbnail",
            "newsletter",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": f"{tmp}/db"}},
        ROOT_URLCONF="peer_urls",
        SITE_ID=1,
        NEWSLETTER_THUMBNAIL="sorl-thumbnail",
        NEWSLETTER_USE_HTTPS=True,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=args.port,
        DEFAULT_FROM_EMAIL="Shop <shop@example.com>",
        USE_TZ=True,
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [str(tmp / "templates")],
                "APP_DIRS": True,
            }
        ],
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from newsletter.models import Message, Newsletter, Submission, Subscription

    newsletter = Newsletter.objects.create(
        title="Shop", slug="shop", email="shop@example.com", sender="Shop", send_html=True
    )
    names = ["Chloé", "Bruno", "Zoë", "Ann", "Ève", "Raj", "Mia", "Léo"]
    Subscription.objects.bulk_create(
        [
            Subscription(
                newsletter=newsletter,
                name_field=names[n % len(names)],
                email_field=f"peer{n}@example.com",
                subscribed=True,
            )
            for n in range(args.contacts)
        ]
    )
    message = Message.objects.create(title="New this week", slug="new", newsletter=newsletter)
    submission = Submission.from_message(message)
    time.sleep(0.01)  # submit() wants a publish date in the past
    started = time.perf_counter()
    submission.submit()
    elapsed = time.perf_counter() - started
    print(
        f"bench peer_newsletter_send: {args.contacts / elapsed:,.1f} msgs/s (budget info)",
        flush=True,
    )


if __name__ == "__main__":
    main()
