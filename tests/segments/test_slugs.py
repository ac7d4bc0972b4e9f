"""A new segment saves without a typed slug: it is made from the name (``-2`` when taken),
and follows the name as it is typed only while the segment is new."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from lxml import html as lxml_html
from wagtail.test.utils.form_data import nested_form_data, streamfield

from wagtail_journeys.models import Segment

from .factories import SegmentFactory

pytestmark = pytest.mark.django_db

ADD = "wagtailsnippets_wagtail_journeys_segment:add"
EDIT = "wagtailsnippets_wagtail_journeys_segment:edit"


@pytest.fixture
def admin(client):
    client.force_login(get_user_model().objects.create_superuser("boss", "boss@x.com", "pw"))
    return client


def post(client, url, **fields):
    data = {"name": "", "slug": "", "description": "", "match": "all", **fields}
    data["rules"] = streamfield([])
    return client.post(url, nested_form_data(data))


def test_an_empty_slug_is_made_from_the_name(admin):
    SegmentFactory(name="Crime readers", slug="crime-readers")
    assert post(admin, reverse(ADD), name="Crime readers").status_code == 302
    assert post(admin, reverse(ADD), name="Lecteurs d’été").status_code == 302
    assert sorted(Segment.objects.values_list("slug", flat=True)) == [
        "crime-readers",
        "crime-readers-2",
        "lecteurs-dete",
    ]


def test_a_typed_slug_is_kept_and_checked(admin):
    SegmentFactory(name="Crime", slug="crime")
    response = post(admin, reverse(ADD), name="Other", slug="crime")
    assert response.status_code == 200 and "already exists" in response.content.decode()
    assert post(admin, reverse(ADD), name="Other", slug="my-own").status_code == 302
    assert Segment.objects.filter(slug="my-own", name="Other").exists()


def test_the_slug_follows_the_name_only_while_the_segment_is_new(admin):
    add = lxml_html.fromstring(admin.get(reverse(ADD)).content)
    name = add.get_element_by_id("id_name")
    assert "w-sync#apply" in name.get("data-action")
    assert name.get("data-w-sync-target-value") == "#id_slug"
    slug = add.get_element_by_id("id_slug")
    assert slug.get("data-controller") == "w-slug"
    assert slug.get("data-w-slug-allow-unicode-value") == "false"  # as the model's field

    segment = SegmentFactory(name="Crime", slug="crime")
    edit = lxml_html.fromstring(admin.get(reverse(EDIT, args=[segment.pk])).content)
    assert "w-sync#apply" not in (edit.get_element_by_id("id_name").get("data-action") or "")
    assert post(admin, reverse(EDIT, args=[segment.pk]), name="Crime novels", slug="crime")
    segment.refresh_from_db()
    assert (segment.name, segment.slug) == ("Crime novels", "crime")
