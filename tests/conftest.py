"""Shared fixtures (the bookshop's pages, API tokens), the service markers, and the
selection of the PostgreSQL pass (``--postgres-pass``, see ``tests/run.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connection

from tests.services import redis_reachable, services_required


def pytest_addoption(parser):
    parser.addoption(
        "--postgres-pass",
        action="store_true",
        help="only the tests whose outcome may depend on the database: POSTGRES_PASS and "
        "POSTGRES_MARKERS in tests/run.py (its PostgreSQL pass)",
    )


def in_postgres_pass(item, root: Path) -> bool:
    """Is the test under a path of ``POSTGRES_PASS``, or marked with a ``POSTGRES_MARKERS``?"""
    from tests.run import POSTGRES_MARKERS, POSTGRES_PASS

    if any(item.get_closest_marker(name) for name in POSTGRES_MARKERS):
        return True
    parts = item.path.relative_to(root).parts
    return any(parts[: len(p.parts)] == p.parts for p in map(Path, POSTGRES_PASS))


def pytest_collection_modifyitems(config, items):
    """Skip PostgreSQL-only tests elsewhere; with ``--postgres-pass``, keep only the tests
    ``tests/run.py`` runs on PostgreSQL.

    Transactional tests (live servers, qcluster processes) must all use serialized
    rollback: one that flushes without it lets ``post_migrate`` recreate content types,
    which the next serialized restore then collides with.
    """
    if config.getoption("postgres_pass"):
        kept, dropped = [], []
        for item in items:
            (kept if in_postgres_pass(item, config.rootpath) else dropped).append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    on_postgres = connection.vendor == "postgresql"
    for item in items:
        marker = item.get_closest_marker("django_db")
        fixtures = getattr(item, "fixturenames", ())
        transactional = (marker and marker.kwargs.get("transaction")) or (
            "transactional_db" in fixtures or "live_server" in fixtures
        )
        serialized = (
            marker and marker.kwargs.get("serialized_rollback")
        ) or "django_db_serialized_rollback" in fixtures
        if transactional and not serialized:
            raise pytest.UsageError(
                f"{item.nodeid}: transactional tests need serialized_rollback=True"
            )
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs JOURNEYS_DB=postgres"))


@pytest.fixture(autouse=True)
def fresh_cache():
    """No compiled email or cached count survives from an earlier test (tidiness: compiled
    emails are keyed by a digest of their revision's content, so a revision id that SQLite
    gives again after a rollback cannot serve a stale one; ``tests/test_cache_keys.py``)."""
    from django.core.cache import cache

    from wagtail_journeys.emails import render

    def clear():
        cache.clear()
        with render._lock:
            render._lru.clear()

    clear()
    yield
    clear()


@pytest.fixture
def require_redis():
    if not redis_reachable():
        if services_required():
            pytest.fail("Redis is required (JOURNEYS_REQUIRE_SERVICES=1) but unreachable")
        pytest.skip("Redis is not reachable")


def journeys_demo(**options):
    """Run ``manage.py journeys_demo`` quietly; return the bookshop's home page."""
    from django.core.management import call_command

    from example_site.shop.models import HomePage

    with open(os.devnull, "w") as devnull:
        call_command("journeys_demo", stdout=devnull, **options)
    return HomePage.objects.get()


@pytest.fixture
def bookshop(db):
    """The whole demo bookshop but its contacts: pages, seed emails, segments, scenarios.
    The costliest fixture: for tests of the demo itself and its screenshots."""
    return journeys_demo(contacts=0)


@pytest.fixture
def bookshop_emails(db):
    """The demo bookshop without its scenarios or contacts: pages, the seed emails and the
    segments they refer to (about a third of the cost of ``bookshop``)."""
    return journeys_demo(contacts=0, no_scenarios=True)


@pytest.fixture
def email_site(db):
    """Only the bookshop's home page, as the default site, and its emails folder: where
    ``tests.emails.factories.make_email`` puts the emails a test makes (a small fraction
    of the cost of ``bookshop``)."""
    from tests.emails.factories import email_index

    home = journeys_demo(home_only=True)
    email_index()
    home.refresh_from_db()  # its number of children changed
    return home


@pytest.fixture
def bookshop_pages(db):
    """Only the bookshop's page tree (home, books, forms): enough for tracking tests."""
    return journeys_demo(pages_only=True)


@pytest.fixture
def server_token(db) -> str:
    """A Wagtail API token whose user may track contacts (the ``Bearer`` of a server)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from wagtail.models import APIToken

    user = get_user_model().objects.create_user("shop-backend", password="x")
    user.user_permissions.add(Permission.objects.get(codename="track_contacts"))
    return APIToken.create_token(user=user, name="shop")[1]


@pytest.fixture
def reports_token(db) -> str:
    """A Wagtail API token whose user may view reports, and nothing else."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from wagtail.models import APIToken

    user = get_user_model().objects.create_user("dashboard", password="x")
    user.user_permissions.add(Permission.objects.get(codename="view_reports"))
    return APIToken.create_token(user=user, name="dashboard")[1]


@pytest.fixture
def weak_token(db) -> str:
    """A valid API token whose user lacks the tracking permission."""
    from django.contrib.auth import get_user_model
    from wagtail.models import APIToken

    user = get_user_model().objects.create_user("reader", password="x")
    return APIToken.create_token(user=user, name="read-only")[1]
