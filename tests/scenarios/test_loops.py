"""Every way one scenario can fire another's trigger is an edge of the loop checker's graph:
start steps, the events a send causes (sent, opened, clicked, unsubscribed, views and form
posts of the pages it links to), the events a webhook's receiver posts back, and the
contact changes that bring a contact into a watched segment. Pure: no database."""

from __future__ import annotations

import pytest
from django.utils import translation

from tests.scenarios.test_compiler import TRIGGER, branch, email, plan
from wagtail_journeys.scenarios.checker import check_loops
from wagtail_journeys.scenarios.compiler import Node
from wagtail_journeys.scenarios.edges import PageFacts, World, segment_inputs


def trigger(kind="event", event="", **fields):
    base = {
        **TRIGGER,
        "kind": kind,
        "event": event,
        "filters": {},
        "page_id": None,
        "page_type": "",
        "page_tag": "",
        "segment_id": None,
        "email_id": None,
    }
    return {**base, **fields}


def start(id, target):
    return Node(id, "start_scenario", f"Start {target}", {"scenario_id": target})


def notify(id, *posts_back):
    return Node(
        id, "notify", "Notify CRM", {"url": "https://crm.example", "posts_back": posts_back}
    )


def update(id, **config):
    base = {"add_tags": [], "remove_tags": [], "attributes": {}, "email_status": ""}
    return Node(id, "update_contact", "Update contact", {**base, **config, "promo_code_prefix": ""})


def mailer(*steps):
    """Scenario 1, "Mailer": these steps, started by hand (or by Back)."""
    return plan(*steps, id=1, title="Mailer", trigger=trigger("manual"))


#: Scenario 11, "Back": started by what Mailer causes, it starts Mailer again.
def back(trigger):
    return plan(start(12, 1), id=11, title="Back", trigger=trigger)


def loop_of(*plans, world=None):
    [problem] = check_loops(list(plans), world)
    assert problem.level == "error" and problem.cycle
    return problem.message


@pytest.mark.parametrize(
    "name, via",
    [
        ("email_sent", "email_sent"),
        ("email_opened", "email_opened"),
        ("email_clicked", "email_clicked"),
        ("unsubscribed", "unsubscribed"),
    ],
)
def test_the_events_of_a_sent_email_fire_event_triggers_on_them(name, via):
    on_it = trigger(event=name, filters={"email_page_id": 50})
    message = loop_of(mailer(email(2, email_id=50)), back(on_it))
    assert "Mailer → Back → Mailer" in message
    assert f"Mailer: 'Send 50' → {via} → Back; Back: 'Start 1' → Mailer" in message
    other_email = trigger(event=name, filters={"email_page_id": 51})
    assert check_loops([mailer(email(2, email_id=50)), back(other_email)]) == []


@pytest.mark.parametrize(
    "engagement, event", [("opened", "email_opened"), ("clicked", "email_clicked")]
)
def test_engagement_triggers_on_the_email_sent_are_edges(engagement, event):
    watching = trigger("email_engagement", event, email_id=50, engagement=engagement)
    assert f"'Send 50' → {event} → Back" in loop_of(mailer(email(2, email_id=50)), back(watching))
    elsewhere = trigger("email_engagement", event, email_id=99, engagement=engagement)
    assert check_loops([mailer(email(2, email_id=50)), back(elsewhere)]) == []


def test_views_and_form_posts_of_linked_pages_fire_page_and_form_triggers():
    world = World(
        pages={
            7: PageFacts("shop.bookpage", ("stephen-king",), "it", "It"),
            8: PageFacts("shop.formpage", (), "newsletter", "Newsletter", form=True),
        }
    )
    sends = mailer(email(2, links=[7, 8]))
    by_tag = trigger("page_view", "page_view", page_tag="stephen-king")
    assert "page_view of 'It' → Back" in loop_of(sends, back(by_tag), world=world)
    by_form = trigger(event="form_submitted", filters={"form": "newsletter"})
    assert "form_submitted of 'Newsletter' → Back" in loop_of(sends, back(by_form), world=world)
    other_tag = trigger("page_view", "page_view", page_tag="jane-austen")
    other_form = trigger(event="form_submitted", filters={"form": "white-paper"})
    assert check_loops([sends, back(other_tag), plan(id=21, trigger=other_form)], world) == []


def test_the_loop_descriptions_are_in_the_editors_language():
    world = World(pages={8: PageFacts("shop.formpage", (), "newsletter", "Newsletter", form=True)})
    sends = mailer(email(2, links=[8]))
    by_form = trigger(event="form_submitted", filters={"form": "newsletter"})
    with translation.override("fr"):
        message = loop_of(sends, back(by_form), world=world)
        tagged = loop_of(
            mailer(update(2, add_tags=["vip"])),
            back(trigger("segment_entered", segment_id=5)),
            world=World(
                segments={
                    5: segment_inputs(
                        [{"type": "tags", "value": {"tags": "vip"}}], lambda _id: None
                    )[0]
                }
            ),
        )
    assert "form_submitted de «\u00a0Newsletter\u00a0» → Back" in message
    assert "étiquette vip ajoutée → Back" in tagged


def test_a_webhook_receiver_that_posts_events_back_is_an_edge_when_said_so():
    crm = trigger(event="crm_synced")
    assert "'Notify CRM' → crm_synced → Back" in loop_of(mailer(notify(2, "crm_synced")), back(crm))
    assert check_loops([mailer(notify(2)), back(crm)]) == []


@pytest.mark.parametrize(
    "change, opposite, rule",
    [
        (
            {"add_tags": ["vip"]},
            {"remove_tags": ["vip"]},  # e.g. an onboarding that clears the "new" tag
            {"type": "tags", "value": {"tags": "vip, gold"}},
        ),
        (
            {"remove_tags": ["new"]},
            {"add_tags": ["new"]},
            {"type": "tags", "value": {"tags": "new", "negate": True}},
        ),
        (
            {"attributes": {"tier": "gold"}},
            {"attributes": {"tier": "silver"}},
            {"type": "attribute", "value": {"key": "tier", "operator": "equals", "value": "gold"}},
        ),
        (
            {"email_status": "subscribed"},
            {"email_status": "unsubscribed"},
            {"type": "consent", "value": {"email_status": ["subscribed"]}},
        ),
    ],
)
def test_contact_updates_that_bring_a_contact_into_a_watched_segment_are_edges(
    change, opposite, rule
):
    enter, _leave = segment_inputs([rule], lambda _id: None)
    world = World(segments={5: enter})
    entered = trigger("segment_entered", segment_id=5)
    message = loop_of(mailer(update(2, **change)), back(entered), world=world)
    assert "Mailer: 'Update contact' →" in message and "→ Back" in message
    # The opposite change only takes the contact out of the segment: no edge.
    assert check_loops([mailer(update(2, **opposite)), back(entered)], world) == []


def test_events_bring_contacts_into_segments_unless_the_rule_only_lets_them_out():
    counts_opens = [{"type": "email_engagement", "value": {"action": "opened", "email": None}}]
    not_opened = [{"type": "event", "value": {"event": "email_opened", "negate": True}}]
    inactive = [{"type": "inactive", "value": {"days": 90, "event": ""}}]
    active = [{"type": "inactive", "value": {"days": 90, "event": "", "negate": True}}]
    nested = [{"type": "in_segment", "value": {"segment": 9}}]
    rules = {9: counts_opens}
    enters = {
        name: segment_inputs(r, rules.get)[0]
        for name, r in [
            ("opens", counts_opens),
            ("never opened", not_opened),
            ("inactive", inactive),
            ("active", active),
            ("nested", nested),
        ]
    }
    world = World(segments=dict(enumerate(enters.values(), start=1)))
    sends = mailer(email(2))
    looping = {
        name: bool(check_loops([sends, back(trigger("segment_entered", segment_id=i))], world))
        for i, name in enumerate(enters, start=1)
    }
    assert looping == {
        "opens": True,
        "never opened": False,
        "inactive": False,  # an event only ends inactivity
        "active": True,
        "nested": True,
    }


def test_a_guarded_edge_makes_the_loop_a_warning_and_a_scenario_can_loop_on_itself():
    opened = trigger(event="email_opened")
    guarded = plan(
        Node(3, "condition", "C", children=[branch(4, start(5, 1))]),
        id=11,
        title="Back",
        trigger=opened,
    )
    [problem] = check_loops([mailer(email(2)), guarded])
    assert problem.level == "warning"
    itself = plan(email(2), id=1, title="Self", trigger=opened)
    [problem] = check_loops([itself])
    assert problem.level == "error" and "Self → Self" in problem.message


def test_a_segment_rules_property_filters_narrow_the_events_that_bring_contacts_in():
    opened_five = [{"type": "email_engagement", "value": {"action": "opened", "email": 5}}]
    read_king = [
        {
            "type": "event",
            "value": {
                "event": "page_view",
                "filters": [{"key": "tags", "operator": "contains", "value": "stephen-king"}],
            },
        }
    ]
    world = World(
        pages={
            7: PageFacts("shop.bookpage", ("stephen-king",), "it", "It"),
            8: PageFacts("shop.bookpage", ("jane-austen",), "emma", "Emma"),
        },
        segments={
            1: segment_inputs(opened_five, lambda _id: None)[0],
            2: segment_inputs(read_king, lambda _id: None)[0],
        },
    )

    def loops(sends, segment_id):
        return check_loops([sends, back(trigger("segment_entered", segment_id=segment_id))], world)

    assert loops(mailer(email(2, email_id=5)), 1)
    assert loops(mailer(email(2, email_id=7)), 1) == []  # another email's opens
    assert loops(mailer(email(2, email_id=7, links=[7])), 2)
    assert loops(mailer(email(2, email_id=7, links=[8])), 2) == []  # not a King book
