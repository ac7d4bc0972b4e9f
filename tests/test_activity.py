"""``activity.describe``: an event in words, escaped, whatever its properties hold. Pure."""

from __future__ import annotations

import pytest

from wagtail_journeys.activity import describe, money, page_ids

XSS = "<b>x</b>"


@pytest.mark.parametrize(
    "properties, sentence",
    [
        (
            {"items": [{"quantity": 2}, {"sku": "b"}], "amount": "34.9", "currency": "eur"},
            "Bought 3 items, €34.90",
        ),
        (
            {"quantity": 1, "title": "Carrie", "amount": 12, "currency": "GBP"},
            "Bought <em>Carrie</em>, £12.00",
        ),
        ({"amount": 10, "currency": "CHF"}, "Bought for 10.00 CHF"),
        ({"amount": "NaN"}, "Bought"),
        ({"amount": True, "items": [1, 2]}, "Bought 2 items"),
        ({"amount": 1e400}, "Bought"),
        ({"title": XSS}, "Bought <em>&lt;b&gt;x&lt;/b&gt;</em>"),
        ({"amount": 5, "currency": XSS}, "Bought for 5.00 &lt;B&gt;X&lt;/B&gt;"),
        ({}, "Bought"),
    ],
)
def test_purchases_in_words(properties, sentence):
    assert describe("purchase", "api", properties, {}).text == sentence


def test_properties_of_any_shape_never_break_a_sentence():
    for properties in (None, [], "text", {"page_id": "12"}, {"email_page_id": True}):
        assert describe("page_view", "page", properties, {}).text == "Viewed <em>a page</em>"
        assert "an email" in describe("email_opened", "email", properties, {}).text
    assert describe(XSS, "api", {}, {}).text == "<code>&lt;b&gt;x&lt;/b&gt;</code>"


def test_titles_come_from_the_pages_named_and_long_texts_are_cut():
    assert page_ids("page_view", {"page_id": 3, "email_page_id": 4}) == {3}
    assert page_ids("email_clicked", {"page_id": 3, "email_page_id": 4}) == {4}
    text = describe("email_clicked", "email", {"email_page_id": 4, "url": "u" * 200}, {4: XSS})
    assert str(text.text).endswith("…</em> in <em>&lt;b&gt;x&lt;/b&gt;</em>")
    assert money("1234.5", "USD") == "$1234.50" and money("abc") is None


def test_a_form_post_names_its_form_when_it_can():
    assert describe("form_submitted", "form", {}, {}).text == "Submitted a form"
    named = describe("form_submitted", "form", {"form": XSS}, {}).text
    assert named == "Submitted the form <em>&lt;b&gt;x&lt;/b&gt;</em>"
