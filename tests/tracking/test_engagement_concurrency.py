"""Hits that arrive together (a mail client fetching the pixel twice, a person clicking
twice) each move the message's counters once, by one UPDATE: never a read-modify-write
race, and exactly one of them is the first."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from wagtail_journeys.models import Contact, Event, Message
from wagtail_journeys.tracking.engagement import record_click, record_open
from wagtail_journeys.tracking.machines import HUMAN

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
THREADS = 8


def together(hit) -> None:
    barrier = threading.Barrier(THREADS)
    errors = []

    def run():
        try:
            barrier.wait()
            hit()
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_simultaneous_clicks_and_opens_count_once_each():
    contact = Contact.objects.create(email="ada@example.com")
    message = Message.objects.create(contact=contact, subject="Hi", status="sent")
    now = timezone.now()
    together(lambda: record_click(message, 1, "https://shop.example/a", HUMAN, timezone.now()))
    together(lambda: record_open(message, HUMAN, now))  # the same minute: one open
    message.refresh_from_db()
    assert message.click_count == THREADS and message.open_count == 1
    clicks = Event.objects.filter(name="email_clicked")
    assert clicks.count() == THREADS
    assert clicks.filter(properties__first=True).count() == 1
    (opened,) = Event.objects.filter(name="email_opened")
    assert opened.properties["first"] is True
