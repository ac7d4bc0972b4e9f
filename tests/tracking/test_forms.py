"""Wagtail form pages identify whoever submits them."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests import strategies
from wagtail_journeys.engine.triggers import filters_match
from wagtail_journeys.models import Contact, EmailStatus, Event, Visitor
from wagtail_journeys.tracking.visitor import VisitorId

pytestmark = pytest.mark.django_db


def test_newsletter_signup_identifies_visitor(client, bookshop_pages):
    client.get("/books/the-shining/")
    visitor = VisitorId.from_token(client.cookies["journeys_vid"].value)
    response = client.post("/newsletter/", {"first_name": "Zoé", "email": "Zoe@Example.com"})
    assert response.status_code == 200
    contact = Contact.objects.get()
    assert (contact.email, contact.first_name) == ("zoe@example.com", "Zoé")
    assert Visitor.objects.get(pk=visitor.uuid).contact == contact
    # the earlier anonymous page view moved to the contact
    assert Event.objects.get(name="page_view").contact == contact
    submitted = Event.objects.get(name="form_submitted")
    assert submitted.contact == contact
    assert submitted.properties["form"] == "newsletter"
    assert (
        submitted.properties["page_id"] == bookshop_pages.get_children().get(slug="newsletter").pk
    )
    # the cookie now carries the contact: the next page view is attributed at once
    assert VisitorId.from_token(response.cookies["journeys_vid"].value).contact_id == contact.pk
    client.get("/books/it/")
    assert Event.objects.filter(name="page_view", contact=contact).count() == 2


def test_resubmission_does_not_resubscribe(client, bookshop_pages):
    Contact.objects.create(email="zoe@example.com", email_status=EmailStatus.UNSUBSCRIBED)
    client.post("/white-paper/", {"name": "Zoé", "email": "zoe@example.com", "company": "ACME"})
    assert Contact.objects.get().email_status == EmailStatus.UNSUBSCRIBED
    assert Event.objects.filter(name="form_submitted").count() == 1


def test_invalid_form_records_nothing(client, bookshop_pages):
    response = client.post("/newsletter/", {"first_name": "Zoé", "email": "not an email"})
    assert response.status_code == 200  # the form re-rendered with its error
    assert Contact.objects.count() == 0
    assert Event.objects.filter(name="form_submitted").count() == 0


def test_contact_data_is_escaped_on_the_landing_page(client, bookshop_pages):
    response = client.post(
        "/newsletter/", {"first_name": "<script>alert(1)</script>", "email": "x@example.com"}
    )
    assert b"<script>alert(1)</script>" not in response.content
    assert Contact.objects.get().first_name == "<script>alert(1)</script>"


# Taking over a contact: a form post proves nothing about who sends it. It may create a
# contact and tie the browser to it, or update the contact the browser is already tied to;
# it never changes, nor ties a browser to, a contact someone else holds.


def cookie_contact(client) -> int | None:
    return VisitorId.from_token(client.cookies["journeys_vid"].value).contact_id


def beacon(client, name: str = "video.played"):
    import json

    token = client.cookies["journeys_vid"].value
    response = client.post(
        "/journeys/api/events",
        json.dumps({"name": name, "visitor": token}),
        content_type="text/plain",
    )
    assert response.status_code == 201


def test_a_stranger_cannot_take_over_a_contact_through_a_form(client, bookshop_pages):
    from wagtail_journeys.contacts import apply_activity

    victim = Contact.objects.create(email="victim@example.com", first_name="Vera")
    client.get("/books/the-shining/")
    poster = VisitorId.from_token(client.cookies["journeys_vid"].value)
    response = client.post(
        "/newsletter/", {"first_name": "Mallory", "email": " Victim@Example.com"}
    )
    assert response.status_code == 200
    victim.refresh_from_db()
    assert victim.first_name == "Vera"
    assert cookie_contact(client) is None
    assert not Visitor.objects.filter(contact=victim).exists()
    client.get("/books/it/")
    beacon(client)
    apply_activity(Event.objects.order_by("pk"))
    # Everything the poster's browser did stays the poster's, anonymous.
    mine = Event.objects.filter(visitor_id=poster.uuid)
    assert sorted(mine.values_list("name", "contact")) == [
        ("page_view", None),
        ("page_view", None),
        ("video.played", None),
    ]
    # The post itself counts for the contact it names (a returning subscriber's signup
    # from a new browser looks the same), without the poster's browser.
    submitted = Event.objects.get(name="form_submitted")
    assert (submitted.contact, submitted.visitor_id) == (victim, None)
    assert submitted.properties["verified"] is False
    # as documented, a trigger filtered on {"verified": true} ignores it
    assert not filters_match({"verified": True}, submitted.properties)


def test_a_browser_tied_to_one_contact_cannot_take_over_another(client, bookshop_pages):
    client.post("/newsletter/", {"first_name": "Mal", "email": "mal@example.com"})
    mal = Contact.objects.get(email="mal@example.com")
    assert cookie_contact(client) == mal.pk
    victim = Contact.objects.create(email="victim@example.com", first_name="Vera")
    client.post("/newsletter/", {"first_name": "Mallory", "email": "victim@example.com"})
    victim.refresh_from_db()
    assert victim.first_name == "Vera"
    assert cookie_contact(client) == mal.pk
    client.get("/books/it/")
    assert Event.objects.get(name="page_view").contact == mal


def test_a_browser_tied_to_its_contact_may_update_its_name(client, bookshop_pages):
    client.post("/newsletter/", {"first_name": "Zoe", "email": "zoe@example.com"})
    response = client.post("/newsletter/", {"first_name": "Zoé", "email": "ZOE@example.com"})
    assert response.status_code == 200
    assert Contact.objects.get().first_name == "Zoé"
    first, second = Event.objects.filter(name="form_submitted").order_by("pk")
    assert first.properties["verified"] is True and second.properties["verified"] is True
    assert filters_match({"verified": True}, second.properties)
    assert second.visitor_id == VisitorId.from_token(client.cookies["journeys_vid"].value).uuid


def test_a_new_address_from_a_tied_browser_creates_its_own_contact(client, bookshop_pages):
    client.post("/newsletter/", {"first_name": "Ann", "email": "ann@example.com"})
    ann = Contact.objects.get()
    first_visitor = VisitorId.from_token(client.cookies["journeys_vid"].value).uuid
    client.post("/newsletter/", {"first_name": "Bo", "email": "bo@example.com"})
    bo = Contact.objects.get(email="bo@example.com")
    assert bo.first_name == "Bo" and cookie_contact(client) == bo.pk
    # Ann's visitor (and the history tied to it) stays Ann's.
    assert Visitor.objects.get(pk=first_visitor).contact == ann


@pytest.mark.parametrize(
    ("field", "value"),
    [("first_name", "N" * 200), ("phone", "+33 6 " * 10)],
)
def test_a_value_the_contact_cannot_hold_does_not_lose_the_submission(
    client, bookshop_pages, field, value
):
    from example_site.shop.models import FormField

    newsletter = bookshop_pages.get_children().get(slug="newsletter").specific
    if field == "phone":
        FormField.objects.create(page=newsletter, label="Phone", field_type="singleline")
    response = client.post("/newsletter/", {"email": "long@example.com", field: value})
    assert response.status_code == 200
    contact = Contact.objects.get()
    assert getattr(contact, field) == ""
    assert Event.objects.get(name="form_submitted").contact == contact
    assert cookie_contact(client) == contact.pk


#: What the form takes and a contact cannot hold (a name holds 150 characters, an email
#: address 254), and numbers and dates as the form's fields read them.
FORM_VALUES = [
    *("x" * 300, "y" * 200, "a" * 250 + "@example.com"),
    *("-2.5", "1e3", "9" * 30, "0001-01-01"),
]


@pytest.fixture
def hostile_form(bookshop_pages):
    """A form with every kind of field a site may map to a contact, and others."""
    from example_site.shop.models import FormField, FormPage

    page = FormPage(title="Everything", slug="everything", thank_you_text="<p>Thanks</p>")
    for order, (label, kind) in enumerate(
        [
            ("Email", "email"),
            ("First name", "singleline"),
            ("Last name", "singleline"),
            ("Phone", "singleline"),
            ("Quantity", "number"),
            ("Message", "multiline"),
            ("Birthday", "date"),
        ]
    ):
        page.form_fields.add(
            FormField(sort_order=order, label=label, field_type=kind, required=kind == "email")
        )
    bookshop_pages.add_child(instance=page)
    page.save_revision().publish()
    return page


def form_body(values: dict[str, str]) -> bytes:
    """``application/x-www-form-urlencoded`` as a browser could send it: any bytes,
    including UTF-8-encoded surrogates (which are not UTF-8) and NUL."""
    from urllib.parse import quote_from_bytes

    return b"&".join(
        f"{name}=".encode() + quote_from_bytes(value.encode("utf-8", "surrogatepass")).encode()
        for name, value in values.items()
    )


VALID_POST = {
    "email": "zoe@example.com",
    "first_name": "Zoé",
    "last_name": "Lévy-Strauss",
    "phone": "+33 6 12 34 56 78",
    "quantity": "3",
    "message": "Hello\r\nthere",
    "birthday": "2000-02-29",
}


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    hostile=st.dictionaries(
        st.sampled_from(sorted(VALID_POST)),
        st.one_of(
            strategies.hostile_cells(max_size=20),
            st.builds("{}@example.com".format, st.text("ab+=\x00\ud800", min_size=1, max_size=4)),
            st.sampled_from(FORM_VALUES),
        ),
        max_size=3,
    ),
)
@example(hostile={"email": "a" * 250 + "@example.com"})  # the form takes it, a contact cannot
@example(hostile={"first_name": "y" * 200, "phone": "\ud800" * 40})
def test_hostile_form_posts_never_fail_and_never_lose_a_submission(client, hostile_form, hostile):
    """Each post is a valid one with up to three fields replaced by hostile values."""
    from wagtail.contrib.forms.models import FormSubmission

    from wagtail_journeys.inputs import text_problem

    before = FormSubmission.objects.count()
    response = client.post(
        "/everything/",
        form_body({**VALID_POST, **hostile}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    new = FormSubmission.objects.order_by("pk")[before:]
    event("accepted by the form" if new else "refused by the form")
    for submission in new:  # accepted by the form: recorded exactly once
        recorded = Event.objects.get(name="form_submitted", properties__submission_id=submission.pk)
        assert recorded.properties["form"] == "everything"
    for contact in Contact.objects.all():
        for value in (contact.email, contact.first_name, contact.last_name, contact.phone):
            assert text_problem(value) is None
