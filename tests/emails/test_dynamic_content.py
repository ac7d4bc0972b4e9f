"""Dynamic content: an abandoned-cart email lists the trigger event's items, a "Show if…"
block shows its blocks to some contacts only, prices follow the contact's locale. Real
pages and revisions; one compiled email serves every contact."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from lxml import html as lxml_html

from tests.emails.factories import make_contact, make_email, text
from wagtail_journeys.emails import links
from wagtail_journeys.emails.blocks import ConditionBlock, ShowIfBlock, TriggerItemsBlock
from wagtail_journeys.emails.render import compiled_for, fill, link_target
from wagtail_journeys.engine import values

CART = {
    "items": [
        {
            "name": "Dune <1965>",
            "price": "12.5",
            "quantity": 2,
            "image": "https://shop.example/dune.jpg",
            "url": "https://shop.example/dune",
        },
        {"name": "Carrie", "price": 30, "url": "https://shop.example/carrie"},
    ]
}


def items_block(**value) -> dict:
    value = {
        "list_name": "items",
        "currency": "EUR",
        "button_text": "View",
        "empty_text": "",
    } | value
    return {"type": "trigger_items", "value": value}


def show_if(condition: str, body: list, otherwise: list | None = None) -> dict:
    return {
        "type": "show_if",
        "value": {"condition": condition, "body": body, "otherwise": otherwise or []},
    }


def visible_text(document: str) -> str:
    return " ".join(lxml_html.document_fromstring(document).text_content().split())


@pytest.fixture
def cart_email(email_site):
    return make_email(
        [text("<p>You left these behind:</p>"), items_block(empty_text="Your cart is empty.")],
        subject='{{ contact.first_name|default("Hi") }}, your cart',
    )


def test_the_cart_email_lists_each_item_with_its_image_price_and_link(cart_email):
    compiled = compiled_for(cart_email)
    rendered = fill(compiled, make_contact(locale="en"), context={"event": CART}, tracked=False)
    shown = visible_text(rendered.html)
    assert "Dune <1965>" in shown and "Carrie" in shown
    assert "2 × €12.50" in shown and "€30.00" in shown
    assert "Your cart is empty." not in shown
    tree = lxml_html.document_fromstring(rendered.html)
    assert [img.get("src") for img in tree.iter("img") if "dune" in img.get("src", "")] == [
        "https://shop.example/dune.jpg"
    ]  # Carrie has no image: no broken one
    hrefs = [a.get("href") for a in tree.iter("a")]
    assert hrefs.count("https://shop.example/dune") == 2  # image and button
    assert hrefs.count("https://shop.example/carrie") == 1
    assert "&lt;1965&gt;" in rendered.html  # escaped, as every value
    assert "Dune <1965>" in rendered.text and "€30.00" in rendered.text


def test_prices_follow_the_contacts_locale(cart_email):
    rendered = fill(compiled_for(cart_email), make_contact(locale="fr"), context={"event": CART})
    shown = visible_text(rendered.html).replace("\u202f", " ").replace("\xa0", " ")
    assert "12,50 €" in shown and "30,00 €" in shown


def test_with_no_items_the_block_says_so_or_shows_nothing(cart_email, email_site):
    rendered = fill(compiled_for(cart_email), make_contact(), context={})
    assert "Your cart is empty." in visible_text(rendered.html)
    assert "View" not in visible_text(rendered.html)
    silent = make_email([text("<p>Hello</p>"), items_block()])
    rendered = fill(compiled_for(silent), make_contact(), context={"event": {"items": []}})
    assert "View" not in visible_text(rendered.html) and "Hello" in visible_text(rendered.html)


def test_each_items_link_is_tracked_and_the_click_finds_its_item(cart_email):
    compiled = compiled_for(cart_email)
    contact = make_contact()
    message = __import__("uuid").uuid4()
    rendered = fill(compiled, contact, context={"event": CART}, message_uuid=message)
    assert "shop.example" not in rendered.html.replace("shop.example/dune.jpg", "")
    tokens = [
        urlsplit(a.get("href")).path.rsplit("/", 1)[1]
        for a in lxml_html.document_fromstring(rendered.html).iter("a")
        if "/journeys/c/" in a.get("href")
    ]
    indexes = [links.unsign(token)[1] for token in tokens]
    targets = [link_target(compiled, i, contact, {"event": CART}) for i in indexes]
    assert targets[-3:] == [
        "https://shop.example/dune",
        "https://shop.example/dune",
        "https://shop.example/carrie",
    ]
    assert "/journeys/c/" in rendered.text  # the text part's links are the same tracked ones


def test_the_trigger_events_items_reach_the_send_context():
    kept = values.event_values({"items": CART["items"] * 40, "total": 42.5, "deep": [[1]]})
    assert len(kept["items"]) == values.MAX_LIST_ITEMS
    assert kept["items"][0]["name"] == "Dune <1965>" and kept["total"] == 42.5
    assert kept["deep"] == []
    assert values.send_context({"event": kept})["event"]["items"][1]["price"] == 30


def test_show_if_shows_blocks_on_a_merge_value(email_site):
    email = make_email(
        [
            show_if(
                "contact.attributes.vip",
                [text("<p>VIP lounge</p>")],
                [text("<p>Join the club</p>")],
            ),
            show_if(
                'event.total > 50 and contact.locale == "fr"', [text("<p>Livraison offerte</p>")]
            ),
        ]
    )
    compiled = compiled_for(email)
    vip = fill(
        compiled,
        make_contact(attributes={"vip": "yes"}, locale="fr"),
        context={"event": {"total": "60"}},
    )
    other = fill(compiled, make_contact(locale="en"), context={"event": {"total": 60}})
    assert "VIP lounge" in visible_text(vip.html) and "Join the club" not in visible_text(vip.html)
    assert "Livraison offerte" in visible_text(vip.html)
    assert "Join the club" in visible_text(other.html) and "VIP lounge" not in other.text
    assert "Livraison offerte" not in visible_text(other.html)
    assert compiled_for(email) is compiled  # one compiled email for everyone


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        ("contact.firstname", "Did you mean"),
        ("contact.__class__", "is not a merge tag"),
        ("contact.first_name %}{% include 'x'", "without"),
        ("event.total +", "cannot be read"),
    ],
)
def test_a_bad_condition_is_refused_on_save(condition, problem):
    with pytest.raises(Exception) as error:
        ConditionBlock().clean(condition)
    assert problem in str(error.value)


def test_the_blocks_have_labels_and_icons():
    assert str(ShowIfBlock().label) == "Show if…"
    assert str(TriggerItemsBlock().label) == "Items from the trigger event"
    assert ShowIfBlock().meta.icon and TriggerItemsBlock().meta.icon


def test_the_preview_fills_the_items_block_with_sample_items(client, cart_email):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("items", "items@example.com", "pw")
    client.force_login(admin)
    html = client.get(f"/admin/pages/{cart_email.pk}/view_draft/").content.decode()
    assert "The Shining" in html and "Misery" in html and "Your cart is empty." not in html
