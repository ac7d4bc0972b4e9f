"""Settings of the example bookshop.

SQLite and django-q2's ORM broker by default (one machine); set ``JOURNEYS_DB=postgres``
and ``JOURNEYS_BROKER=redis`` for the scale-out path.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-site-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]

INSTALLED_APPS = [
    "example_site.shop",
    "wagtail_journeys",
    "django_q",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "example_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "example_site.wsgi.application"


def database() -> dict:
    if os.environ.get("JOURNEYS_DB") == "postgres":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("JOURNEYS_PG_NAME", "journeys"),
            "USER": os.environ.get("JOURNEYS_PG_USER", "postgres"),
            "HOST": os.environ.get("JOURNEYS_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("JOURNEYS_PG_PORT", "5432"),
            "CONN_MAX_AGE": 60,
        }
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("JOURNEYS_SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        # Reopening the file, its PRAGMAs and the WAL checkpoint on the last close cost
        # ~3 ms a request, four times an event's own cost: keep connections open.
        "CONN_MAX_AGE": 60,
        # The site and the qcluster write at once: WAL, IMMEDIATE transactions and a busy
        # timeout keep "database is locked" away.
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }


DATABASES = {"default": database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

Q_CLUSTER = {
    "name": "journeys",
    "workers": 2,
    "timeout": 300,
    "retry": 360,
    "max_attempts": 3,
    # Results live in our own tables; saving them under django-q2's lock caps throughput.
    "save_limit": -1,
    "catch_up": False,
    "label": "Tasks",
    # `Q_CLUSTER_NAME=journeys-priority manage.py qcluster` runs the transactional queue.
    "ALT_CLUSTERS": {"journeys-priority": {"workers": 1}},
}
if os.environ.get("JOURNEYS_BROKER") == "redis":
    Q_CLUSTER["redis"] = os.environ.get("JOURNEYS_REDIS_URL", "redis://127.0.0.1:6379/0")
else:
    Q_CLUSTER["orm"] = "default"

AUTH_PASSWORD_VALIDATORS = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static_collected"
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / "media"

WAGTAIL_SITE_NAME = "The Bookshop"
WAGTAILADMIN_BASE_URL = os.environ.get("WAGTAILADMIN_BASE_URL", "http://localhost:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
# Where the file-based backend (`make demo`'s) writes each message.
EMAIL_FILE_PATH = os.environ.get("DJANGO_EMAIL_FILE_PATH", str(BASE_DIR / "sent_mail"))
# The SMTP server of `DJANGO_EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend`
# (the end-to-end test's own, on loopback: tests/test_journey_e2e.py).
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("DJANGO_EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = "The Bookshop <hello@bookshop.example>"

try:  # ESP webhooks (delivered, bounced, complained): pip install "wagtail-journeys[esp]"
    import anymail  # noqa: F401
except ImportError:
    pass
else:
    INSTALLED_APPS.append("anymail")
    ANYMAIL = {
        "WEBHOOK_SECRET": os.environ.get("ANYMAIL_WEBHOOK_SECRET", "journeys:example-not-secret"),
        "MAILGUN_WEBHOOK_SIGNING_KEY": os.environ.get(
            "MAILGUN_WEBHOOK_SIGNING_KEY", "example-not-secret"
        ),
    }

WAGTAIL_JOURNEYS = {
    "CORS_ALLOWED_ORIGINS": ["http://localhost:3000"],
    # A European site: signups confirm their address before any marketing mail (the
    # demo's "confirm-subscription" email carries the link).
    "DOUBLE_OPT_IN": True,
    # A European site: no visitor cookie, page view or beacon event before the visitor
    # accepts the banner in shop/templates/base.html (docs/how-to/privacy.md).
    "TRACKING_CONSENT_REQUIRED": True,
    # A European site: an erased address (a contact deleted in the admin) is kept as a
    # keyed hash, so no import, form or API call adds the person back.
    "SUPPRESS_ERASED": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"wagtail_journeys": {"handlers": ["console"], "level": "INFO"}},
}
