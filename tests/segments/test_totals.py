"""Event totals and windows as the reference promises them, on the database the run uses:
exact decimal sums, windows ``[now − days, now]`` with both ends included, rows that no
input may store any more (skipped, never fatal), and rules that require a source."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.db import connection

from wagtail_journeys.models import Contact, Event, EventSource
from wagtail_journeys.segments import contacts_matching, load_facts, reference_matching

from .factories import NOW, ContactFactory, EventFactory, rule

pytestmark = pytest.mark.django_db

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "segment-rules.md"
MICROSECOND = dt.timedelta(microseconds=1)


def members(rules, now: dt.datetime = NOW) -> set[str]:
    """The matching contacts' emails, after checking that SQL and the reference agree."""
    sql = set(contacts_matching(rules, "all", now=now).values_list("pk", flat=True))
    python = reference_matching(rules, "all", load_facts(Contact.objects.all()), now=now)
    assert sql == python, rules
    return set(Contact.objects.filter(pk__in=sql).values_list("email", flat=True))


def spend(at_least=200, days=365, function="sum", **more) -> list[dict]:
    value = {"function": function, "property": "amount", "event": "purchase"}
    return [rule("event_total", **value, filters=[], at_least=at_least, days=days, **more)]


def purchases(email: str, *amounts, ago: float = 3, source=EventSource.API) -> Contact:
    contact = ContactFactory(email=email)
    for amount in amounts:
        EventFactory(
            contact=contact,
            name="purchase",
            properties={"amount": amount},
            occurred_at=NOW - dt.timedelta(days=ago),
            source=source,
        )
    return contact


def test_money_adds_up_exactly():
    purchases("exact@x.com", 0.01, 130.14, 69.85)  # 200.00, not 199.99999999999997
    purchases("short@x.com", 0.01, 130.14, 69.84)
    purchases("tenths@x.com", *[0.1] * 10)  # 1.0 exactly, 0.9999999999999999 in doubles
    assert members(spend(200)) == {"exact@x.com"}
    assert members(spend(199.99)) == {"exact@x.com", "short@x.com"}
    assert members(spend(1)) == {"exact@x.com", "short@x.com", "tenths@x.com"}
    assert members(spend(130.14, function="max")) == {"exact@x.com", "short@x.com"}
    assert members(spend(130.15, function="max")) == set()
    assert members(spend(2.5, function="count")) == {"exact@x.com", "short@x.com", "tenths@x.com"}
    assert members(spend(3.5, function="count")) == {"tenths@x.com"}


def test_a_threshold_typed_as_text_is_exact_too():
    purchases("exact@x.com", 0.01, 130.14, 69.85)
    assert members(spend("200.00")) == {"exact@x.com"}
    assert members(spend("200.000000000001")) == set()


def documented_window() -> str:
    text = REFERENCE.read_text()
    found = re.search(r"Time windows \(`days`\) cover `([\[(])now − days, now([\])])`", text)
    assert found, "the reference states the window"
    return found.group(1) + found.group(2)


@pytest.mark.parametrize(
    "now",
    [NOW, NOW.replace(microsecond=250_000)],  # SQLite stores these as text with and without
    ids=["whole-seconds", "microseconds"],  # a fraction: both compare right
)
def test_windows_are_what_the_reference_says(now):
    """A purchase exactly 365 days old counts today; one a microsecond older does not;
    one at ``now`` counts, one a microsecond later does not (yet)."""
    start = now - dt.timedelta(days=365)
    moments = {
        "start@x.com": start,
        "before@x.com": start - MICROSECOND,
        "now@x.com": now,
        "after@x.com": now + MICROSECOND,
    }
    for email, moment in moments.items():
        contact = ContactFactory(email=email, created_at=start - dt.timedelta(days=30))
        EventFactory(
            contact=contact, name="purchase", properties={"amount": 250}, occurred_at=moment
        )
    inside = {"start@x.com", "now@x.com"}
    assert documented_window() == "[]"  # both ends included, as the rules below select
    assert members(spend(200), now) == inside
    assert members([rule("event", event="purchase", at_least=1, days=365, filters=[])], now) == (
        inside
    )
    no_purchase = [rule("inactive", days=365, event="purchase")]
    assert members(no_purchase, now) == set(moments) - inside


def test_a_row_no_input_may_store_is_skipped_not_fatal():
    """Numbers stored before validation existed: a 400-digit amount, ``1e400`` (infinite
    as a double), numbers beyond ``inputs.MAX_NUMBER``. On PostgreSQL any one of them
    made every total on ``amount`` fail for all contacts."""
    good = purchases("good@x.com", 0.01, 130.14, 69.85)
    purchases("bad@x.com", 10**400, 1e300, -(10**16))
    for contact in (good, ContactFactory(email="raw@x.com")):
        EventFactory(contact=contact, name="purchase", properties={"amount": 10**400})
        Event.objects.create(
            name="purchase", contact=contact, occurred_at=NOW, source=EventSource.API
        )
    with connection.cursor() as cursor:  # JSON text that Python could not even produce
        cursor.execute(
            f"UPDATE {Event._meta.db_table} SET properties = %s WHERE properties = %s",  # noqa: S608
            ['{"amount": 1e400}', "{}"],
        )
    assert members(spend(200)) == {"good@x.com"}
    assert members(spend(1, function="max")) == {"good@x.com"}
    assert members(spend(3, function="count")) == {"good@x.com"}
    big = [rule("event", event="purchase", at_least=1, days=None, filters=[greater("100")])]
    assert members(big) == {"good@x.com"}
    ContactFactory(email="points@x.com", attributes={"points": 10**400})
    ContactFactory(email="few@x.com", attributes={"points": 3})
    assert members([rule("attribute", key="points", operator="greater", value="1")]) == {
        "few@x.com"
    }


def greater(value: str) -> dict:
    return {"key": "amount", "operator": "greater", "value": value}


def test_totals_can_require_purchases_a_server_recorded():
    purchases("scripted@x.com", 10000, source=EventSource.BEACON)
    purchases("customer@x.com", 250, source=EventSource.API)
    purchases("imported@x.com", 120, 80, source=EventSource.IMPORT)
    assert members(spend(200)) == {"scripted@x.com", "customer@x.com", "imported@x.com"}
    assert members(spend(200, trust="")) == {
        "scripted@x.com",
        "customer@x.com",
        "imported@x.com",
    }
    assert members(spend(200, trust="server")) == {"customer@x.com", "imported@x.com"}
    assert members(spend(200, trust="browser")) == {"scripted@x.com"}
    counted = [rule("event", event="purchase", at_least=1, days=None, filters=[], trust="server")]
    assert members(counted) == {"customer@x.com", "imported@x.com"}
