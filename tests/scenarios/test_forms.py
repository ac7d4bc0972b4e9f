"""The scenario forms that speak marketing (issue 11, item 3): property filters as rows
that round-trip to the JSON the engine matches, weekdays as checkboxes, the trigger panel
showing only the chosen kind's fields, optional step titles, private pages without the
public page's parts, event names and property keys suggested to editors only."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import EventFactory
from tests.scenarios.factories import add, make_scenario, scenario_index
from tests.test_admin_walk import form_data
from tests.users import make_user
from wagtail_journeys.engine.triggers import filters_match
from wagtail_journeys.models import SendEmailStep, WaitStep
from wagtail_journeys.scenarios.fields import (
    IS,
    ONE_OF,
    filter_rows,
    filters_from_rows,
    parse_value,
    show_value,
)

# Rows <-> JSON, without a database --------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**14), max_value=10**14),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e14, max_value=1e14),
    st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00")),
)
FILTERS = st.dictionaries(
    st.text(alphabet=st.characters(exclude_categories=["Cs", "Cc", "Zs"]), min_size=1, max_size=30),
    st.one_of(SCALARS, st.lists(SCALARS, min_size=1, max_size=4)),
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(FILTERS)
def test_any_filter_object_shows_as_rows_that_read_back_the_same(filters):
    assert filters_from_rows(filter_rows(filters)) == filters


@pytest.mark.parametrize(
    "text, value",
    [
        ("newsletter", "newsletter"),
        ("Stephen King", "Stephen King"),
        ("12", 12),
        ('"12"', "12"),
        ("true", True),
        ("1.5", 1.5),
        ("NaN", "NaN"),
        ("  padded  ", "padded"),
        ('{"a": 1}', {"a": 1}),
    ],
)
def test_a_value_is_json_when_it_is_json_and_text_otherwise(text, value):
    assert parse_value(text) == value
    assert parse_value(show_value(value)) == value


def test_rows_mean_what_the_engine_matches():
    rows = [
        ("form", IS, "newsletter"),
        ("page_id", ONE_OF, "12, 14"),
        ("", IS, ""),  # a blank row is left out
        ("code", IS, '"007"'),
    ]
    filters = filters_from_rows(rows)
    assert filters == {"form": "newsletter", "page_id": [12, 14], "code": "007"}
    assert filters_match(filters, {"form": "newsletter", "page_id": 14, "code": "007"})
    assert not filters_match(filters, {"form": "newsletter", "page_id": "14", "code": "007"})
    assert filter_rows(filters) == [
        ("form", IS, "newsletter"),
        ("page_id", ONE_OF, "12, 14"),
        ("code", IS, "007"),  # not a JSON number: no quotes needed
    ]
    assert filter_rows({"zip": "75005"}) == [("zip", IS, '"75005"')]
    assert filter_rows({"tags": ["a,b", "c"]}) == [("tags", ONE_OF, '"a,b", "c"')]


@pytest.mark.parametrize(
    "rows, message",
    [
        ([("", IS, "newsletter")], "Row 1: name the property"),
        ([("a", IS, "1"), ("a", IS, "2")], "Row 2: a is filtered twice"),
        ([("a", "contains", "1")], "Row 1: choose an operator"),
        ([("a", ONE_OF, " , ")], "Row 1: list at least one value"),
        ([("a", IS, "[1, 2]")], "Row 1: for a list of values"),
        ([("a\x00", IS, "1")], "Row 1: it contains characters that cannot be stored"),
        ([("a", IS, "x\ud800")], "Row 1: it contains characters that cannot be stored"),
        ([("a", IS, "1e400")], "Row 1: contains a number that is not finite"),
        ([("a", IS, "1e16")], "Row 1: contains a number too large"),
        ([("k" * 101, IS, "1")], "Row 1: the property name is longer than 100"),
    ],
)
def test_rows_that_cannot_be_stored_or_matched_say_which_and_why(rows, message):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        filters_from_rows(rows)
    assert any(message in m for m in error.value.messages), error.value.messages


# The editor --------------------------------------------------------------------------------

pytestmark = pytest.mark.django_db


def post_of(page, **changes) -> dict:
    """What the editor posts for ``page`` unchanged, with ``changes`` (``<field>-key``…
    for filter rows, lists for checkboxes)."""
    from wagtail_journeys.scenarios.fields import PropertyFiltersWidget

    page = latest(page)
    form_class = page.get_edit_handler().get_form_class()
    form = form_class(instance=page, parent_page=page.get_parent())
    data = form_data(form)
    for bound in form:
        if isinstance(bound.field.widget, PropertyFiltersWidget):
            rows = bound.field.widget.format_value(bound.value())
            data.pop(bound.html_name, None)
            data[f"{bound.html_name}-present"] = "1"
            for n, part in enumerate(("key", "operator", "value")):
                data[f"{bound.html_name}-{part}"] = [row[n] for row in rows]
    data.update(changes)
    return data


def latest(page):
    """The page as its latest revision has it (a draft, or what is live)."""
    return type(page).objects.get(pk=page.pk).get_latest_revision_as_object()


def edit(client, page, **changes):
    return client.post(f"/admin/pages/{page.pk}/edit/", post_of(page, **changes))


def test_filter_rows_posted_in_the_editor_are_stored_as_the_engine_reads_them(client, admin_user):
    scenario = make_scenario(title="Forms", trigger_filters={"form": "newsletter"})
    client.force_login(admin_user)
    html = client.get(f"/admin/pages/{scenario.pk}/edit/").content.decode()
    assert 'name="trigger_filters-key" value="form"' in html
    assert 'name="trigger_filters-value" value="newsletter"' in html
    response = edit(
        client,
        scenario,
        **{
            "trigger_filters-key": ["form", "page_id"],
            "trigger_filters-operator": [IS, ONE_OF],
            "trigger_filters-value": ["white-paper", "3, 4"],
            "goal_filters-key": ["author"],
            "goal_filters-operator": [IS],
            "goal_filters-value": ["Stephen King"],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    draft = latest(scenario)
    assert draft.trigger_filters == {"form": "white-paper", "page_id": [3, 4]}
    assert draft.goal_filters == {"author": "Stephen King"}
    # Every row removed: no filter (not "unchanged").
    response = edit(
        client,
        draft,
        **{"trigger_filters-key": [], "trigger_filters-operator": [], "trigger_filters-value": []},
    )
    assert response.status_code == 302
    assert latest(scenario).trigger_filters == {}


@pytest.mark.parametrize(
    "rows",
    [
        {"trigger_filters-key": ["a\x00"], "trigger_filters-value": ["1"]},
        {"trigger_filters-key": ["a", "a"], "trigger_filters-value": ["1", "2"]},
        {"trigger_filters-key": ["a"], "trigger_filters-value": ["1e999"]},
        {"trigger_filters-key": ["a"], "trigger_filters-operator": ["drop table"]},
        {"trigger_filters-key": ["x" * 5000]},
        {
            "trigger_filters-key": [f"k{n}" for n in range(300)],
            "trigger_filters-value": ["v"] * 300,
        },
    ],
)
def test_hostile_filter_rows_are_form_errors_never_a_500(client, admin_user, rows):
    scenario = make_scenario(title="Hostile")
    client.force_login(admin_user)
    response = edit(client, scenario, **{"trigger_filters-operator": [IS], **rows})
    assert response.status_code == 200  # the form again, with its error
    assert "Row " in response.content.decode() or "At most 50 filters" in response.content.decode()
    assert latest(scenario).trigger_filters == {}


def test_weekdays_are_checkboxes_stored_as_the_engine_reads_them(client, admin_user):
    scenario = make_scenario(title="Weekdays")
    wait = add(
        scenario,
        WaitStep,
        mode="window",
        weekdays="0,1,2,3,4",
        window_start=dt.time(9),
        window_end=dt.time(18),
    )
    client.force_login(admin_user)
    html = client.get(f"/admin/pages/{wait.pk}/edit/").content.decode()
    checked = re.findall(r'<input type="checkbox" name="weekdays" value="(\d)"[^>]*checked', html)
    assert checked == ["0", "1", "2", "3", "4"]
    assert "Monday=0" not in html
    response = edit(client, wait, weekdays=["5", "6", "5"])
    assert response.status_code == 302
    assert latest(wait).weekdays == "5,6"
    response = edit(client, wait, weekdays=["7"])
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


def _visible(html: str, name: str) -> bool:
    """Is the panel wrapper holding the input named ``name`` rendered without ``hidden``?"""
    where = html.index(f'name="{name}"')
    start = html.rfind('data-w-rules-target="show"', 0, where)
    opening = html.rfind("<", 0, start)
    return " hidden" not in html[opening : html.index(">", start)]


def test_the_trigger_panel_shows_only_the_chosen_kinds_fields(client, admin_user):
    client.force_login(admin_user)
    scenario = make_scenario(title="Kinds", trigger_event="purchase")
    html = client.get(f"/admin/pages/{scenario.pk}/edit/").content.decode()
    assert 'data-controller="w-rules"' in html
    assert _visible(html, "trigger_event") and _visible(html, "trigger_filters-key")
    assert not _visible(html, "trigger_time") and not _visible(html, "broadcast_at")
    assert not _visible(html, "trigger_page_tag") and not _visible(html, "engagement_kind")
    assert not _visible(html, "reentry_days")  # re-entry "once ever": no number of days
    birthday = make_scenario(title="Birthday", trigger_kind="birthday", trigger_time=dt.time(9))
    html = client.get(f"/admin/pages/{birthday.pk}/edit/").content.decode()
    assert _visible(html, "trigger_time") and not _visible(html, "trigger_event")
    # A hidden field with an error is shown, with its error: switching to an event
    # trigger without naming the event.
    response = edit(client, birthday, trigger_kind="event", trigger_event="")
    html = response.content.decode()
    assert response.status_code == 200 and _visible(html, "trigger_event")
    assert "Name the event that starts the scenario." in html


def test_step_titles_are_optional_and_follow_the_summary(client, admin_user):
    client.force_login(admin_user)
    scenario = make_scenario(title="Titles")
    wait = add(scenario, WaitStep, amount=3, unit="days", title="Wait 3 days")
    html = client.get(f"/admin/pages/{wait.pk}/edit/").content.decode()
    assert re.search(r'name="title"[^>]*value=""', html) or 'name="title" value' not in html
    assert edit(client, wait, title="", amount="5").status_code == 302
    assert latest(wait).title == "Wait 5 days"
    assert edit(client, wait, title="Let them read it").status_code == 302
    assert latest(wait).title == "Let them read it"
    assert edit(client, wait, amount="7").status_code == 302
    assert latest(wait).title == "Let them read it"  # theirs stays
    # A new step: no title, no slug typed.
    url = f"/admin/pages/add/wagtail_journeys/sendemailstep/{scenario.pk}/"
    html = client.get(url).content.decode()
    assert 'name="slug"' not in html and 'name="seo_title"' not in html
    assert 'name="show_in_menus"' not in html and 'name="search_description"' not in html
    assert "seen by the public" not in html
    response = client.post(
        url, {**post_of_new(SendEmailStep, scenario), "title": "", "on_cap": "defer"}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    step = SendEmailStep.objects.child_of(scenario).get()
    assert step.title == "Send: (no email)" and step.slug == "send-no-email"


def post_of_new(model, parent) -> dict:
    page = model()
    form_class = model.get_edit_handler().get_form_class()
    return form_data(form_class(instance=page, parent_page=parent))


def test_private_pages_have_no_view_live_link(client, admin_user):
    client.force_login(admin_user)
    scenario = make_scenario(title="Private")
    assert scenario.url is None and scenario.full_url is None
    html = client.get(f"/admin/pages/{scenario.pk}/edit/").content.decode()
    assert "View live" not in html
    html = client.get(f"/admin/pages/{scenario_index().pk}/").content.decode()
    assert "View live" not in html
    # Never served, so nothing to restrict: no privacy options.
    privacy = client.get(f"/admin/pages/{scenario.pk}/privacy/").content.decode()
    assert "Changing the privacy for this page has been disabled." in privacy


# Suggestions -------------------------------------------------------------------------------


def test_event_names_and_property_keys_are_suggested_to_editors_only(client, admin_user):
    for name, properties in [
        ("purchase", {"amount": 1, "author": "King"}),
        ("purchase", {"amount": 2, "title": "It"}),
        ("form_submitted", {"form": "newsletter"}),
        ("page_view", {}),
    ]:
        EventFactory(name=name, properties=properties)
    client.force_login(make_user("outsider"))
    assert client.get("/admin/journeys/suggest/events/").status_code == 403
    assert client.get("/admin/journeys/suggest/properties/?event=purchase").status_code == 403
    client.force_login(admin_user)
    response = client.get("/admin/journeys/suggest/events/")
    assert response.json() == {"names": ["form_submitted", "page_view", "purchase"]}
    assert client.get("/admin/journeys/suggest/events/?q=P").json() == {
        "names": ["page_view", "purchase"]
    }
    keys = client.get("/admin/journeys/suggest/properties/?event=purchase").json()
    assert keys == {"keys": ["amount", "author", "title"]}
    assert client.get("/admin/journeys/suggest/properties/?event=%00").status_code == 400
    assert client.get("/admin/journeys/suggest/properties/?event=").json() == {"keys": []}
    # An editor of scenarios (page permissions on the folder) gets them too.
    editor = make_user("scenarist", pages=[scenario_index()])
    client.force_login(editor)
    assert client.get("/admin/journeys/suggest/events/").status_code == 200
    client.logout()
    assert client.get("/admin/journeys/suggest/events/").status_code == 302  # to the login


def test_suggestions_are_bounded_and_cached(django_assert_max_num_queries):
    from django.core.cache import cache

    from wagtail_journeys.scenarios import suggestions

    for n in range(30):
        EventFactory(name=f"event_{n:02d}", properties={f"key_{n}": n})
    assert suggestions.seen_event_names(limit=10) == [f"event_{n:02d}" for n in range(10)]
    with django_assert_max_num_queries(1):  # one query: a seek per name, in SQL
        assert len(suggestions.event_names()) == 30
    with django_assert_max_num_queries(0):
        assert len(suggestions.event_names()) == 30
    cache.clear()
    with django_assert_max_num_queries(1):
        assert suggestions.property_keys("event_03") == ["key_3"]


def test_the_editor_offers_event_names_and_page_types(client, admin_user):
    client.force_login(admin_user)
    scenario = make_scenario(title="Offers")
    html = client.get(f"/admin/pages/{scenario.pk}/edit/").content.decode()
    assert 'data-controller="journeys-suggest"' in html
    assert 'list="id_trigger_event-suggestions"' in html
    assert "scenario-forms.js" in html
    assert json.dumps("/admin/journeys/suggest/events/")[1:-1] in html
    assert '<select name="trigger_page_type"' in html
    # Each filter widget offers the keys of its own event field's event.
    for filters, event in [("trigger_filters", "trigger_event"), ("goal_filters", "goal_event")]:
        assert re.search(
            rf'id="id_{filters}" data-controller="journeys-filters"[^>]*'
            rf'data-journeys-filters-event-field-value="{event}"',
            html,
        )


def test_scenario_page_type_is_chosen_from_the_sites_page_types(client, admin_user):
    client.force_login(admin_user)
    scenario = make_scenario(title="Types", trigger_kind="page_view", trigger_event="")
    response = edit(client, scenario, trigger_page_type="wagtailcore.page")
    assert response.status_code == 302
    assert latest(scenario).trigger_page_type == ("wagtailcore.page")


def test_a_branch_asks_only_what_its_parent_uses(client, admin_user):
    """A condition's branch: rules, match, else; a split's: its share; an event wait's:
    its outcome. Saving one keeps the others' stored values untouched."""
    from wagtail_journeys.models import Branch, ConditionStep, SplitStep

    client.force_login(admin_user)
    scenario = make_scenario(title="Branches")
    condition = add(scenario, ConditionStep, title="Bought?", publish=False)
    split = add(scenario, SplitStep, title="A or B", publish=False)
    wait = add(scenario, WaitStep, amount=3, publish=False)
    asked = {}
    for parent in (condition, split, wait):
        branch = add(parent, Branch, title="One", publish=False)
        html = client.get(f"/admin/pages/{branch.pk}/edit/").content.decode()
        fields = ('id="rules"', "id_match", "id_is_else", "id_percent", "id_outcome")
        asked[type(parent).__name__] = [f for f in fields if f in html]
    assert asked == {
        "ConditionStep": ['id="rules"', "id_match", "id_is_else"],
        "SplitStep": ["id_percent"],
        "WaitStep": ["id_outcome"],
    }
    shared = add(split, Branch, title="Half", percent=50, publish=False)
    response = edit(client, shared, title="Half of them", percent="60")
    assert response.status_code == 302
    assert (latest(shared).title, latest(shared).percent) == ("Half of them", 60)
