"""Shared fixtures: a bookshop page tree, API tokens, and the service markers."""

from __future__ import annotations

import os

import pytest
from django.db import connection

from tests.services import redis_reachable, services_required


def pytest_collection_modifyitems(config, items):
    """Skip PostgreSQL-only tests elsewhere; run transactional tests after the others.

    Transactional tests (live servers, qcluster processes) must all use serialized
    rollback: one that flushes without it lets ``post_migrate`` recreate content types,
    which the next serialized restore then collides with.
    """
    on_postgres = connection.vendor == "postgresql"
    for item in items:
        marker = item.get_closest_marker("django_db")
        if (
            marker
            and marker.kwargs.get("transaction")
            and not marker.kwargs.get("serialized_rollback")
        ):
            raise pytest.UsageError(
                f"{item.nodeid}: transactional tests need serialized_rollback=True"
            )
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs JOURNEYS_DB=postgres"))


@pytest.fixture(autouse=True)
def fresh_cache():
    """No compiled email or cached count survives from an earlier test: SQLite reuses ids
    after a rollback, and compiled emails are cached by revision id (in Django's cache and
    in the renderer's in-process LRU)."""
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


@pytest.fixture
def bookshop(db):
    """The demo bookshop's pages (no contacts): home, books, newsletter and white paper."""
    from django.core.management import call_command

    from example_site.shop.models import HomePage

    call_command("journeys_demo", contacts=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    return HomePage.objects.get()


@pytest.fixture
def bookshop_pages(db):
    """Only the bookshop's page tree (home, books, forms): enough for tracking tests."""
    from django.core.management import call_command

    from example_site.shop.models import HomePage

    call_command("journeys_demo", pages_only=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
    return HomePage.objects.get()


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
def weak_token(db) -> str:
    """A valid API token whose user lacks the tracking permission."""
    from django.contrib.auth import get_user_model
    from wagtail.models import APIToken

    user = get_user_model().objects.create_user("reader", password="x")
    return APIToken.create_token(user=user, name="read-only")[1]
