"""Segments in the Wagtail admin: listing with counts, editing with validation, the live
preview endpoint, and the contacts listing filtered by segment."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from wagtail.test.utils.form_data import nested_form_data, streamfield

from tests.users import SEGMENT_EDITING, make_user
from wagtail_journeys.models import Segment

from .factories import ContactFactory, SegmentFactory, rule

pytestmark = pytest.mark.django_db

PREVIEW = "wagtailsnippets_wagtail_journeys_segment:preview"
ADD = "wagtailsnippets_wagtail_journeys_segment:add"
LIST = "wagtailsnippets_wagtail_journeys_segment:list"


@pytest.fixture
def admin(client):
    user = get_user_model().objects.create_superuser("boss", "boss@x.com", "pw")
    client.force_login(user)
    return client


def form(rules, **fields) -> dict:
    data = {"name": "Misters", "slug": "misters", "description": "", "match": "all"}
    data.update(fields)
    data["rules"] = streamfield(rules)
    return nested_form_data(data)


CIVILITY_MR = ("field", {"negate": "", "field": "civility", "operator": "equals", "value": "mr"})


def test_listing_shows_live_counts(admin):
    SegmentFactory(name="Misters", slug="segment-0", rules=[rule("civility", civility=["mr"])])
    for _ in range(3):
        ContactFactory(civility="mr")
    ContactFactory(civility="mrs")
    response = admin.get(reverse(LIST))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Misters" in html
    cells = re.findall(r"<td\s*>\s*(.*?)\s*</td>", html, re.S)
    members = reverse("journeys_contacts:index") + f"?segment={Segment.objects.get().pk}"
    assert cells[cells.index("segment-0") + 1] == f'<a href="{members}">3</a>'


def test_the_count_opens_the_segments_contacts(admin):
    segment = SegmentFactory(rules=[rule("civility", civility=["mr"])])
    ContactFactory(civility="mr", email="in@x.com")
    ContactFactory(civility="mrs", email="out@x.com")
    html = admin.get(reverse(LIST)).content.decode()
    href = re.search(rf'<a href="([^"]*\?segment={segment.pk})">1</a>', html).group(1)
    listing = admin.get(href.replace("&amp;", "&")).content.decode()
    assert "in@x.com" in listing
    assert "out@x.com" not in listing


def test_the_count_is_no_link_for_those_who_may_not_see_contacts(client):
    client.force_login(make_user("segments-only", *SEGMENT_EDITING))
    SegmentFactory(slug="segment-0", rules=[rule("civility", civility=["mr"])])
    ContactFactory(civility="mr")
    html = client.get(reverse(LIST)).content.decode()
    cells = re.findall(r"<td\s*>\s*(.*?)\s*</td>", html, re.S)
    assert cells[cells.index("segment-0") + 1] == "1"
    assert "?segment=" not in html


def test_creating_a_segment_from_the_form(admin):
    response = admin.post(reverse(ADD), form([CIVILITY_MR]))
    errors = re.findall(r'class="error-message"[^>]*>(.*?)<', response.content.decode(), re.S)
    assert response.status_code == 302, errors
    segment = Segment.objects.get(slug="misters")
    mr = ContactFactory(civility="mr")
    assert segment.contains(mr)


def test_a_bad_threshold_is_shown_on_the_field_not_saved(admin):
    bad = ("attribute", {"negate": "", "key": "points", "operator": "greater", "value": "lots"})
    response = admin.post(reverse(ADD), form([bad]))
    assert response.status_code == 200
    assert "Enter a number such as 200 or 12.5." in response.content.decode()
    assert not Segment.objects.exists()


def test_saving_a_loop_shows_the_path_on_the_rules_field(admin):
    a = SegmentFactory(name="Alpha", slug="alpha")
    b = SegmentFactory(name="Beta", rules=[rule("in_segment", segment=a.pk)])
    url = reverse("wagtailsnippets_wagtail_journeys_segment:edit", args=[a.pk])
    looped = ("in_segment", {"negate": "", "segment": str(b.pk)})
    response = admin.post(url, form([looped], name="Alpha", slug="alpha"))
    assert response.status_code == 200
    # the stream editor draws the field's errors from JSON (hence the escaped arrows)
    assert "include itself: Alpha \\u2192 Beta \\u2192 Alpha" in response.content.decode()
    a.refresh_from_db()
    assert list(a.rules) == []


def test_a_bad_event_property_filter_is_shown_not_saved(admin):
    value = {"key": "amount", "operator": "greater", "value": "abc"}
    filters = {"count": "1", "0": {"value": value, "deleted": "", "order": "0"}}
    bad = ("event", {"negate": "", "event": "purchase", "at_least": "1", "filters": filters})
    response = admin.post(reverse(ADD), form([bad]))
    assert response.status_code == 200
    assert "Enter a number such as 200 or 12.5." in response.content.decode()
    assert not Segment.objects.exists()


def test_the_edit_form_carries_the_preview_panel(admin):
    segment = SegmentFactory()
    url = reverse("wagtailsnippets_wagtail_journeys_segment:edit", args=[segment.pk])
    html = admin.get(url).content.decode()
    assert f'data-url="{reverse(PREVIEW)}?pk={segment.pk}"' in html
    assert "segment-preview.js" in html


def test_preview_counts_and_samples_the_in_progress_rules(admin):
    ContactFactory(civility="mr", email="mr@x.com", first_name="Bob")
    ContactFactory(civility="mrs")
    data = admin.post(reverse(PREVIEW), form([CIVILITY_MR])).json()
    assert data["errors"] == []
    assert data["count"] == 1
    assert data["sample"] == [{"id": data["sample"][0]["id"], "email": "mr@x.com", "name": "Bob"}]
    assert data["contacts_url"] == ""  # not saved: the listing cannot show these rules


def test_preview_links_the_count_while_the_rules_are_the_saved_ones(admin):
    segment = SegmentFactory(name="Misters", slug="misters", rules=[])
    edit = reverse("wagtailsnippets_wagtail_journeys_segment:edit", args=[segment.pk])
    assert admin.post(edit, form([CIVILITY_MR])).status_code == 302
    url = f"{reverse(PREVIEW)}?pk={segment.pk}"
    saved = Segment.objects.get().rules
    posted = form(
        [(child.block_type, {"negate": "", **child.value}) for child in saved], name="Misters"
    )
    posted["rules-0-id"] = saved[0].id
    members = reverse("journeys_contacts:index") + f"?segment={segment.pk}"
    assert admin.post(url, posted).json()["contacts_url"] == members
    mrs = ("field", {"negate": "", "field": "civility", "operator": "equals", "value": "mrs"})
    changed = admin.post(url, form([mrs], name="Misters")).json()
    assert changed["errors"] == []
    assert changed["contacts_url"] == ""


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            ("attribute", {"negate": "", "key": "points", "operator": "greater", "value": "lots"}),
            "Rule 1, value: Enter a number such as 200 or 12.5.",
        ),
        (
            (
                "birthday",
                {"negate": "", "period": "today", "days": "0", "timezone": "Mars/Olympus"},
            ),
            "Rule 1, timezone: Mars/Olympus is not an IANA timezone.",
        ),
        (("inactive", {"negate": "", "days": "-3", "event": ""}), "Rule 1, days:"),
        (
            (
                "event",
                {
                    "negate": "",
                    "event": "purchase",
                    "at_least": "1",
                    "days": "",
                    "filters": {
                        "count": "1",
                        "0": {
                            "value": {"key": "amount", "operator": "greater", "value": "abc"},
                            "deleted": "",
                            "order": "0",
                        },
                    },
                },
            ),
            "Rule 1, filters: Enter a number",
        ),
        (
            ("field", {"negate": "", "field": "shoe_size", "operator": "equals", "value": "9"}),
            "Rule 1, field: Select a valid choice.",
        ),
    ],
)
def test_preview_returns_errors_for_bad_rules_never_a_500(admin, bad, message):
    response = admin.post(reverse(PREVIEW), form([bad]))
    assert response.status_code == 200
    assert any(error.startswith(message) for error in response.json()["errors"]), response.json()


@pytest.mark.parametrize(
    "post",
    [{}, {"match": "all", "rules-count": "x"}, {"match": "sometimes", "rules-count": "0"}],
)
def test_preview_answers_a_malformed_post_with_errors(admin, post):
    response = admin.post(reverse(PREVIEW), post)
    assert response.status_code == 200
    assert response.json()["errors"]


def test_preview_refuses_a_cycle_with_the_edited_segment(admin):
    a = SegmentFactory(name="Alpha")
    b = SegmentFactory(name="Beta", rules=[rule("in_segment", segment=a.pk)])
    looped = ("in_segment", {"negate": "", "segment": str(b.pk)})
    response = admin.post(f"{reverse(PREVIEW)}?pk={a.pk}", form([looped], name="Alpha"))
    assert "Alpha → Beta → Alpha" in " ".join(response.json()["errors"])


def test_preview_needs_a_segment_editor(client):
    user = get_user_model().objects.create_user("nobody", password="pw")
    client.force_login(user)
    response = client.post(reverse(PREVIEW), form([CIVILITY_MR]))
    assert response.status_code in (302, 403)


def test_contacts_listing_filters_by_segment(admin):
    segment = SegmentFactory(rules=[rule("civility", civility=["mrs"])])
    ContactFactory(civility="mrs", email="in@x.com")
    ContactFactory(civility="mr", email="out@x.com")
    html = admin.get(reverse("journeys_contacts:index"), {"segment": segment.pk}).content.decode()
    assert "in@x.com" in html
    assert "out@x.com" not in html


def editor_definitions(admin) -> str:
    """The add form's stream editor definitions (telepath JSON in an attribute), readable."""
    return unescape(admin.get(reverse(ADD)).content.decode())


def test_the_rule_editor_offers_event_names_and_property_keys(admin):
    """The stream editor's widgets ask the scenario forms' suggestion endpoints (the same
    names and keys scenario triggers offer); their script comes with the form."""
    html = editor_definitions(admin)
    assert "scenario-forms.js" in html
    assert 'data-controller=\\"journeys-suggest\\"' in html
    assert f'data-journeys-suggest-url-value=\\"{reverse("journeys_suggest:events")}' in html
    assert 'data-controller=\\"journeys-keys\\"' in html
    assert f'data-journeys-keys-url-value=\\"{reverse("journeys_suggest:properties")}' in html


def test_civility_is_checkboxes_and_birthday_periods_are_radios(admin):
    html = editor_definitions(admin)
    civility = html.index('"label": "civility is one of"')
    assert "w-field--checkbox_select_multiple" in html[civility : civility + 400]
    period = html.index('"label": "birthday"')
    assert "w-field--radio_select" in html[period : period + 400]
    assert 'value=\\"next_days\\"' in html
