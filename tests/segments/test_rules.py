"""What each rule type selects, on the database the run uses (SQLite or PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from wagtail_journeys.exceptions import InvalidRule
from wagtail_journeys.segments import compile_rules, contacts_matching, matches
from wagtail_journeys.segments.rules.special import sample_bucket

from .factories import NOW, ContactFactory, EventFactory, SegmentFactory, rule

pytestmark = pytest.mark.django_db


def emails(rules, match="all", now=NOW) -> set[str]:
    return set(contacts_matching(rules, match, now=now).values_list("email", flat=True))


def days_ago(n: float) -> dt.datetime:
    return NOW - dt.timedelta(days=n)


def test_numeric_attribute_comparisons_are_strict_and_ignore_text():
    ContactFactory(email="three@x.com", attributes={"points": 3})
    ContactFactory(email="four@x.com", attributes={"points": 4.5})
    ContactFactory(email="text@x.com", attributes={"points": "400"})
    ContactFactory(email="none@x.com", attributes={})
    greater = [rule("attribute", key="points", operator="greater", value="3")]
    assert emails(greater) == {"four@x.com"}
    less = [rule("attribute", key="points", operator="less", value="4.5")]
    assert emails(less) == {"three@x.com"}
    # NOT is the exact complement: the text value and the missing key are "not greater".
    not_greater = [rule("attribute", negate=True, key="points", operator="greater", value="3")]
    assert emails(not_greater) == {"three@x.com", "text@x.com", "none@x.com"}


def test_attribute_equals_contains_in_list_and_empty():
    ContactFactory(email="a@x.com", attributes={"city": "Paris", "likes": ["tea", "jazz"]})
    ContactFactory(email="b@x.com", attributes={"city": "Parisian", "likes": [], "vip": True})
    ContactFactory(email="c@x.com", attributes={"city": 75, "likes": "jazz club"})
    assert emails([rule("attribute", key="city", operator="equals", value="Paris")]) == {"a@x.com"}
    assert emails([rule("attribute", key="city", operator="equals", value="75")]) == {"c@x.com"}
    assert emails([rule("attribute", key="vip", operator="equals", value="true")]) == {"b@x.com"}
    contains = [rule("attribute", key="likes", operator="contains", value="jazz")]
    assert emails(contains) == {"a@x.com", "c@x.com"}
    in_list = [rule("attribute", key="city", operator="in_list", value="Lyon, Paris, 75")]
    assert emails(in_list) == {"a@x.com", "c@x.com"}
    empty = [rule("attribute", key="likes", operator="is_empty")]
    assert emails(empty) == {"b@x.com"}
    assert emails([rule("attribute", key="vip", operator="is_empty")]) == {"a@x.com", "c@x.com"}


def test_contact_fields_civility_locale_tags_and_consent():
    ContactFactory(email="mr@x.com", civility="mr", locale="fr-CA", interests=["horror"])
    ContactFactory(
        email="mrs@x.com",
        civility="mrs",
        locale="en",
        sms_opt_in=True,
        interests=["horror", "thriller"],
    )
    ContactFactory(email="gone@x.com", email_status="unsubscribed", first_name="Zoé")
    assert emails([rule("civility", civility=["mr"])]) == {"mr@x.com"}
    assert emails([rule("locale", locales="fr")]) == {"mr@x.com"}
    assert emails([rule("tags", tags="horror, thriller")]) == {"mr@x.com", "mrs@x.com"}
    all_tags = [rule("tags", tags="horror, thriller", require_all=True)]
    assert emails(all_tags) == {"mrs@x.com"}
    first = [rule("field", field="first_name", operator="contains", value="é")]
    assert emails(first) == {"gone@x.com"}
    sms = [rule("consent", email_status=["subscribed"], sms="yes")]
    assert emails(sms) == {"mrs@x.com"}
    assert emails([rule("consent", email_status=["unsubscribed"], sms="")]) == {"gone@x.com"}


def test_event_count_with_property_filter_and_window():
    reader = ContactFactory(email="reader@x.com")
    casual = ContactFactory(email="casual@x.com")
    for n in (1, 5, 29):
        EventFactory(contact=reader, properties={"tags": ["stephen-king"]}, occurred_at=days_ago(n))
    for n in (1, 5, 31):  # the third is outside the 30-day window
        EventFactory(contact=casual, properties={"tags": ["stephen-king"]}, occurred_at=days_ago(n))
    EventFactory(contact=casual, properties={"tags": ["classic"]}, occurred_at=days_ago(2))
    king = {"key": "tags", "operator": "contains", "value": "stephen-king"}
    rules = [rule("event", event="page_view", at_least=3, days=30, filters=[king])]
    assert emails(rules) == {"reader@x.com"}
    did_not = [{**rules[0], "value": {**rules[0]["value"], "negate": True}}]
    assert emails(did_not) == {"casual@x.com"}


def test_spend_over_twelve_months_sums_numbers_only():
    big = ContactFactory(email="big@x.com")
    small = ContactFactory(email="small@x.com")
    for amount, ago in ((150, 10), (60.5, 300), (500, 400)):
        EventFactory(
            contact=big, name="purchase", properties={"amount": amount}, occurred_at=days_ago(ago)
        )
    EventFactory(
        contact=small, name="purchase", properties={"amount": "900"}, occurred_at=days_ago(3)
    )
    EventFactory(
        contact=small, name="purchase", properties={"amount": 199}, occurred_at=days_ago(3)
    )
    spend = rule(
        "event_total", function="sum", property="amount", event="purchase", at_least=200, days=365
    )
    assert emails([spend]) == {"big@x.com"}
    biggest = rule(
        "event_total", function="max", property="amount", event="purchase", at_least=199, days=30
    )
    assert emails([biggest]) == {"small@x.com"}
    count = rule(
        "event_total", function="count", property="amount", event="purchase", at_least=2, days=None
    )
    assert emails([count]) == {"big@x.com"}


def test_inactivity_referral_and_email_engagement():
    idle = ContactFactory(
        email="idle@x.com", attributes={"referred_by": "friend"}, created_at=days_ago(200)
    )
    busy = ContactFactory(email="busy@x.com", created_at=days_ago(200))
    EventFactory(
        contact=idle, occurred_at=days_ago(120), properties={"referrer": "https://blog.example"}
    )
    EventFactory(contact=busy, occurred_at=days_ago(2))
    EventFactory(
        contact=busy,
        name="email_opened",
        properties={"email_page_id": 7, "message_id": 1},
        occurred_at=days_ago(3),
    )
    EventFactory(  # sent by us, not done by the contact: still inactive
        contact=idle,
        name="email_sent",
        properties={"email_page_id": 8, "message_id": 2},
        occurred_at=days_ago(3),
    )
    assert emails([rule("inactive", days=90, event="")]) == {"idle@x.com"}
    assert emails([rule("referral", source="referred_by", value="")]) == {"idle@x.com"}
    assert emails([rule("referral", source="referred_by", value="friend")]) == {"idle@x.com"}
    referrer = rule("referral", source="referrer", value="blog.example", days=None)
    assert emails([referrer]) == {"idle@x.com"}
    opened = rule("email_engagement", action="opened", email=None, days=7)
    assert emails([opened]) == {"busy@x.com"}
    sent = rule("email_engagement", action="sent", email=None, days=7)
    assert emails([sent]) == {"idle@x.com"}
    assert emails([rule("email_engagement", action="clicked", email=None, days=7)]) == set()


def test_email_engagement_with_a_given_email_page(email_site):
    page = email_site.get_children().first()
    reader = ContactFactory(email="reader@x.com")
    other = ContactFactory(email="other@x.com")
    EventFactory(
        contact=reader,
        name="email_clicked",
        properties={"email_page_id": page.pk, "message_id": 1},
        occurred_at=days_ago(1),
    )
    EventFactory(
        contact=other,
        name="email_clicked",
        properties={"email_page_id": page.pk + 1000, "message_id": 2},
        occurred_at=days_ago(1),
    )
    clicked = rule("email_engagement", action="clicked", email=page.pk, days=30)
    assert emails([clicked]) == {"reader@x.com"}


def test_random_sample_is_stable_and_splits_disjointly():
    people = [ContactFactory() for _ in range(60)]
    first = [rule("sample", percent=50, start=0, seed=3)]
    second = [rule("sample", percent=50, start=50, seed=3)]
    a, b = emails(first), emails(second)
    assert a and b and not a & b and len(a | b) == 60
    assert emails(first) == a  # same answer on every query
    expected = {c.email for c in people if sample_bucket(c.pk, 3) < 50}
    assert a == expected


def test_all_any_and_nested_segments():
    ContactFactory(email="mr@x.com", civility="mr", locale="fr")
    ContactFactory(email="mrs@x.com", civility="mrs", locale="fr")
    ContactFactory(email="en@x.com", civility="mr", locale="en")
    rules = [rule("civility", civility=["mr"]), rule("locale", locales="fr")]
    assert emails(rules, "all") == {"mr@x.com"}
    assert emails(rules, "any") == {"mr@x.com", "mrs@x.com", "en@x.com"}
    french = SegmentFactory(rules=[rule("locale", locales="fr")])
    vip = SegmentFactory(
        rules=[rule("in_segment", segment=french.pk), rule("civility", civility=["mrs"])]
    )
    assert set(vip.contacts().values_list("email", flat=True)) == {"mrs@x.com"}
    assert emails([]) == {"mr@x.com", "mrs@x.com", "en@x.com"}


def test_list_count_and_membership_agree():
    segment = SegmentFactory(rules=[rule("civility", civility=["mrs"])])
    members = [ContactFactory(civility="mrs") for _ in range(3)]
    outsider = ContactFactory(civility="mr")
    assert segment.count() == 3 == segment.contacts().count()
    assert all(segment.contains(c) for c in members) and not segment.contains(outsider)
    assert matches(members[0], segment.rules, "all") and not matches(outsider, segment.rules)


def test_bad_stored_rules_raise_invalid_rule_not_a_database_error():
    ContactFactory(attributes={"points": 1})
    with pytest.raises(InvalidRule):
        compile_rules([rule("attribute", key="points", operator="greater", value="lots")])
    with pytest.raises(InvalidRule):
        compile_rules([{"type": "no_such_rule", "value": {}}])
    with pytest.raises(InvalidRule):
        compile_rules([rule("event", event="page_view", at_least=1, days=-3, filters=[])])
