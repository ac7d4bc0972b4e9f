"""Segments in the Wagtail admin: listing with counts, editing with validation, the live
preview endpoint, and the contacts listing filtered by segment."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from wagtail.test.utils.form_data import nested_form_data, streamfield

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
    assert cells[cells.index("segment-0") + 1] == "3"


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


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            ("attribute", {"negate": "", "key": "points", "operator": "greater", "value": "lots"}),
            "Rule 1, value: Enter a number such as 200 or 12.5.",
        ),
        (
            ("birthday", {"negate": "", "days": "0", "timezone": "Mars/Olympus"}),
            "Rule 1, timezone: Mars/Olympus is not an IANA timezone.",
        ),
        (("inactive", {"negate": "", "days": "-3", "event": ""}), "Rule 1, days:"),
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
