"""``journeys_move_database``'s arguments: database URLs, and the mistakes it refuses
before touching a database (the move itself: ``tests/test_move_up.py``)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from wagtail_journeys.move import MoveError, redact, settings_from_url


def test_a_postgres_url_gives_django_settings():
    assert settings_from_url(
        "postgres://journeys:s%40cret@db.internal:6432/shop?sslmode=require"
    ) == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "shop",
        "USER": "journeys",
        "PASSWORD": "s@cret",
        "HOST": "db.internal",
        "PORT": "6432",
        "OPTIONS": {"sslmode": "require"},
    }


def test_a_sqlite_url_names_a_file():
    assert settings_from_url("sqlite:////srv/journeys/back.sqlite3") == {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": "/srv/journeys/back.sqlite3",
    }


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql://root@localhost/shop", "Unknown database URL scheme 'mysql'"),
        ("postgres://root@localhost/", "names no database"),
        ("sqlite:///", "names a file"),
    ],
)
def test_unusable_urls_are_refused_with_the_reason(url, reason):
    with pytest.raises(MoveError, match=reason):
        settings_from_url(url)


def test_passwords_are_not_printed():
    assert redact("postgres://journeys:s3cret@db/shop") == "postgres://journeys:***@db/shop"
    assert redact("postgres://journeys@db/shop") == "postgres://journeys@db/shop"


def test_the_command_refuses_an_unknown_target_and_the_source_itself():
    with pytest.raises(CommandError, match="neither an alias of DATABASES"):
        call_command("journeys_move_database", to="elsewhere")
    with pytest.raises(CommandError, match="the same database"):
        call_command("journeys_move_database", to="default")
