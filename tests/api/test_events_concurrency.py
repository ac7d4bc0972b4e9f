"""Retries that arrive together (a server's HTTP client retrying on a timeout while the
first attempt is still in flight) store one event: the unique key decides, and every
answer names that event."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from tests.factories import ContactFactory
from wagtail_journeys.models import Event

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
THREADS = 8


@pytest.mark.parametrize("known", [True, False], ids=["known contact", "new contact"])
def test_the_same_key_posted_at_once_stores_one_event(server_token, known):
    if known:
        ContactFactory(email="ann@example.com")
    body = json.dumps({"name": "purchase", "email": "ann@example.com", "idempotency_key": "o-1"})
    barrier = threading.Barrier(THREADS)
    answers, errors = [], []

    def post():
        try:
            barrier.wait()
            response = Client().post(
                "/journeys/api/events",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {server_token}",
            )
            answers.append((response.status_code, response.json()))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    (event,) = Event.objects.all()
    assert sorted(status for status, _ in answers) == [200] * (THREADS - 1) + [201]
    assert {answer["id"] for _, answer in answers} == {event.pk}
    assert event.contact.email == "ann@example.com"
