"""The template library: the classic journeys of marketing automation, each created as a
draft scenario ready to adapt, its steps and emails drafts too, nothing live until the
editor switches it on (built with ``scenarios.building``, like the demo's scenarios)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail.models import Page

from .building import StepSpec, add_page, add_steps, event_rule


def _text(*paragraphs: str) -> dict:
    return {"type": "text", "value": "".join(f"<p>{p}</p>" for p in paragraphs)}


def _hello() -> str:
    return gettext('Hello {{ contact.first_name|default("there") }},')


def _voucher(heading: str, description: str) -> dict:
    return {
        "type": "voucher",
        "value": {
            "heading": str(heading),
            "code": "{{ promo_code|required }}",
            "description": str(description),
            "expires_on": None,
        },
    }


@dataclass(frozen=True)
class EmailDraft:
    key: str
    title: str
    subject: str
    #: Made when the email is created, in the language active then (the editor's).
    body: Callable[[], list[dict]]


@dataclass(frozen=True)
class Template:
    """A journey to start from: what it does, the emails it writes, and the scenarios it
    builds (``scenarios(emails, segments)`` -> ``[(scenario fields, steps)]``)."""

    key: str
    title: str
    description: str
    emails: tuple[EmailDraft, ...]
    scenarios: Callable[[dict[str, Page], dict[str, Any]], list[tuple[dict, list[StepSpec]]]]
    #: What the editor must fill in before switching it on.
    to_fill: tuple[str, ...] = ()
    segments: tuple[str, ...] = field(default=())


def _models():
    from .. import models

    return models


def _welcome(e, s):
    m = _models()
    return [
        (
            {
                "title": gettext("Welcome series"),
                "trigger_kind": "event",
                "trigger_event": "form_submitted",
                "trigger_filters": {"form": "newsletter"},
                "reentry": "once",
            },
            [
                (m.UpdateContactStep, "", {"promo_code_prefix": "WELCOME"}, []),
                (m.SendEmailStep, "", {"email": e["welcome"]}, []),
                (m.WaitStep, "", {"amount": 3, "unit": "days"}, []),
                (m.SendEmailStep, "", {"email": e["welcome-tips"]}, []),
            ],
        )
    ]


def _cart(e, s):
    m = _models()
    return [
        (
            {
                "title": gettext("Abandoned cart"),
                "trigger_kind": "event",
                "trigger_event": "cart_updated",
                "trigger_source": "server",
                "reentry": "per_days",
                "reentry_days": 7,
                "goal_event": "purchase",
            },
            [
                (m.WaitStep, "", {"amount": 30, "unit": "minutes"}, []),
                (m.UpdateContactStep, "", {"promo_code_prefix": "CART"}, []),
                (m.SendEmailStep, "", {"email": e["cart"]}, []),
            ],
        )
    ]


def _birthday(e, s):
    m = _models()
    return [
        (
            {
                "title": gettext("Birthday"),
                "trigger_kind": "birthday",
                "trigger_time": dt.time(9),
                "reentry": "always",
            },
            [
                (m.UpdateContactStep, "", {"promo_code_prefix": "BDAY"}, []),
                (m.SendEmailStep, "", {"email": e["birthday"]}, []),
            ],
        )
    ]


def _win_back(e, s):
    m = _models()
    return [
        (
            {
                "title": gettext("Win-back after 90 days"),
                "trigger_kind": "segment_entered",
                "trigger_segment": s.get("inactive-90-days"),
                "trigger_segment_existing": True,
                "reentry": "per_days",
                "reentry_days": 180,
                "goal_event": "purchase",
            },
            [
                (m.UpdateContactStep, "", {"promo_code_prefix": "BACK"}, []),
                (m.SendEmailStep, "", {"email": e["miss-you"]}, []),
                (m.WaitStep, "", {"amount": 14, "unit": "days"}, []),
                (m.SendEmailStep, "", {"email": e["last-chance"]}, []),
            ],
        )
    ]


def _resend(e, s):
    m = _models()
    return [
        (
            {
                "title": gettext("Resend to non-openers"),
                "trigger_kind": "email_engagement",
                "engagement_kind": "not_opened",
                "engagement_days": 3,
                "reentry": "once",
            },
            [(m.SendEmailStep, "", {"email": e["resend"]}, [])],
        )
    ]


def _author(e, s):
    m = _models()
    return [
        (
            {
                "title": gettext("Interest in an author"),
                "trigger_kind": "page_view",
                "trigger_page_tag": "",
                "trigger_min_views": 3,
                "trigger_view_days": 30,
                "reentry": "per_days",
                "reentry_days": 90,
                "goal_event": "purchase",
            },
            [
                (m.WaitStep, "", {"amount": 3, "unit": "days"}, []),
                (m.SendEmailStep, "", {"email": e["author"]}, []),
            ],
        )
    ]


def _newsletter_white_paper(e, s):
    m = _models()
    return [
        (
            {
                "title": gettext("Newsletter signup → white paper"),
                "trigger_kind": "event",
                "trigger_event": "form_submitted",
                "trigger_filters": {"form": "newsletter"},
                "reentry": "always",
            },
            [
                (m.WaitStep, "", {"amount": 1, "unit": "days"}, []),
                (m.SendEmailStep, "", {"email": e["white-paper-offer"]}, []),
            ],
        ),
        (
            {
                "title": gettext("White-paper download → newsletter"),
                "trigger_kind": "event",
                "trigger_event": "form_submitted",
                "trigger_filters": {"form": "white-paper"},
                "reentry": "always",
            },
            [
                (
                    m.ConditionStep,
                    "",
                    {"title": gettext("Not on the newsletter yet?")},
                    [
                        (
                            m.Branch,
                            "",
                            {
                                "title": gettext("never signed up to the newsletter"),
                                "rules": [
                                    event_rule("form_submitted", negate=True, form="newsletter")
                                ],
                            },
                            [(m.SendEmailStep, "", {"email": e["newsletter-offer"]}, [])],
                        )
                    ],
                )
            ],
        ),
    ]


TEMPLATES: dict[str, Template] = {
    t.key: t
    for t in [
        Template(
            "welcome",
            _("Welcome series with a voucher"),
            _(
                "When someone signs up to the newsletter: a welcome email with a unique "
                "voucher code, then three days later a second email with tips."
            ),
            (
                EmailDraft(
                    "welcome",
                    _("Welcome + voucher"),
                    _("Welcome! Here is your voucher"),
                    lambda: [
                        _text(
                            _hello(),
                            # xgettext:no-python-format
                            gettext("Thank you for joining us. Here is 10% off your first order."),
                        ),
                        _voucher(
                            gettext("Your welcome voucher"),
                            # xgettext:no-python-format
                            gettext("10% off your first order."),
                        ),
                    ],
                ),
                EmailDraft(
                    "welcome-tips",
                    _("Welcome: tips"),
                    _("Three things to try first"),
                    lambda: [
                        _text(_hello(), gettext("Here is how to make the most of your account."))
                    ],
                ),
            ),
            _welcome,
            to_fill=(
                _(
                    "Trigger: the filter form = newsletter names the signup form; change it "
                    "to your form's slug (or trigger on the event your site records)."
                ),
            ),
        ),
        Template(
            "abandoned-cart",
            _("Abandoned cart after 30 minutes"),
            _(
                "When a cart is updated (by your server) and no purchase follows within 30 "
                "minutes: an email with a voucher code. A purchase ends it at once."
            ),
            (
                EmailDraft(
                    "cart",
                    _("Your cart is waiting"),
                    _("You left something behind"),
                    lambda: [
                        _text(
                            _hello(),
                            # xgettext:no-python-format
                            gettext("Your cart is still here. Take 5% off to complete it."),
                        ),
                        # xgettext:no-python-format
                        _voucher(gettext("5% off your cart"), gettext("Valid for one order.")),
                    ],
                ),
            ),
            _cart,
        ),
        Template(
            "birthday",
            _("Birthday"),
            _(
                "On each contact's birthday at 09:00 in their own timezone: a birthday email "
                "with a present, a voucher code."
            ),
            (
                EmailDraft(
                    "birthday",
                    _("Happy birthday"),
                    _('Happy birthday {{ contact.first_name|default("!") }}'),
                    lambda: [
                        _text(_hello(), gettext("A present from us for your birthday.")),
                        _voucher(gettext("Your birthday present"), gettext("Valid for a month.")),
                    ],
                ),
            ),
            _birthday,
        ),
        Template(
            "win-back",
            _("Win-back after 90 days"),
            _(
                "Contacts who have done nothing for 90 days (the segment Inactive for 90 "
                "days, created if missing) get a voucher, and a last reminder two weeks "
                "later unless they buy."
            ),
            (
                EmailDraft(
                    "miss-you",
                    _("We miss you"),
                    _('We miss you, {{ contact.first_name|default("friend") }}'),
                    lambda: [
                        _text(
                            _hello(),
                            # xgettext:no-python-format
                            gettext("It has been a while: here is 15% off to come back."),
                        ),
                        # xgettext:no-python-format
                        _voucher(gettext("15% off"), gettext("Valid for two weeks.")),
                    ],
                ),
                EmailDraft(
                    "last-chance",
                    _("Last chance"),
                    _("Your voucher ends soon"),
                    lambda: [_text(_hello(), gettext("Last days to use your voucher."))],
                ),
            ),
            _win_back,
            segments=("inactive-90-days",),
        ),
        Template(
            "resend",
            _("Resend to non-openers"),
            _(
                "Three days after an email is sent, those who have not opened it get it "
                "again with a new subject."
            ),
            (
                EmailDraft(
                    "resend",
                    _("Resend"),
                    _("In case you missed it"),
                    lambda: [
                        _text(_hello(), gettext("Copy the content of the email you resend here."))
                    ],
                ),
            ),
            _resend,
            to_fill=(
                _("Trigger: choose the email whose non-openers get the resend."),
                _("The email Resend: give it the content of that email and a new subject."),
            ),
        ),
        Template(
            "author",
            _("Interest in an author's pages"),
            _(
                "Contacts who view three pages of one author within 30 days get, three days "
                "later, an email about that author, unless they buy meanwhile."
            ),
            (
                EmailDraft(
                    "author",
                    _("More from the author"),
                    _("More from an author you like"),
                    lambda: [
                        _text(_hello(), gettext("Our booksellers' favourites by this author."))
                    ],
                ),
            ),
            _author,
            to_fill=(
                _("Trigger: the viewed page tag of the author's pages, e.g. stephen-king."),
                _(
                    "Goal: to stop only on a purchase of that author, add a goal filter "
                    "such as author is Stephen King."
                ),
            ),
        ),
        Template(
            "newsletter-white-paper",
            _("Newsletter ↔ white paper"),
            _(
                "Two scenarios: newsletter subscribers are offered the white paper a day "
                "later; white-paper readers not yet subscribed are offered the newsletter. "
                "The condition stops the loop between them."
            ),
            (
                EmailDraft(
                    "white-paper-offer",
                    _("Our white paper"),
                    _("Our white paper, free"),
                    lambda: [_text(_hello(), gettext("Download our white paper."))],
                ),
                EmailDraft(
                    "newsletter-offer",
                    _("Join our newsletter"),
                    _("News, once a month"),
                    lambda: [_text(_hello(), gettext("Join the newsletter for news and offers."))],
                ),
            ),
            _newsletter_white_paper,
            to_fill=(
                _(
                    "Triggers: the filters form = newsletter and form = white-paper name the "
                    "two forms; change them to your forms' slugs."
                ),
                _("Each offer email: add a button to the other form's page."),
            ),
        ),
    ]
}


#: Segments a template may need, created when missing: slug -> (name, rules).
SEGMENTS = {
    "inactive-90-days": (
        _("Inactive for 90 days"),
        [{"type": "inactive", "value": {"negate": False, "days": 90, "event": ""}}],
    ),
}


def email_folder(near: Page) -> Page:
    """The email folder (the first there is), or one made beside ``near``."""
    from ..models import EmailIndexPage

    folder = EmailIndexPage.objects.first()
    if folder is None:
        folder = add_page(
            near.get_parent(), EmailIndexPage, "", {"title": gettext("Emails")}, publish=True
        )
    return folder


def create_from_template(
    key: str, folder: Page, *, user=None, may_add_segments: bool = True
) -> list[Page]:
    """Create the template's emails and scenarios under ``folder`` (a scenario folder), all
    drafts, in one transaction; return the scenarios. Segments it needs are created when
    missing (if ``may_add_segments``; else the trigger is left for the editor to choose)."""
    from ..models import ScenarioPage, Segment

    template = TEMPLATES[key]
    with transaction.atomic():
        segments: dict[str, Any] = {}
        for slug in template.segments:
            segment = Segment.objects.filter(slug=slug).first()
            if segment is None and may_add_segments:
                name, rules = SEGMENTS[slug]
                segment = Segment.objects.create(slug=slug, name=str(name), rules=rules)
            segments[slug] = segment
        emails_index = email_folder(folder)
        emails = {
            draft.key: add_page(
                emails_index,
                _models().EmailPage,
                "",
                {"title": str(draft.title), "subject": str(draft.subject), "body": draft.body()},
                publish=False,
                user=user,
            )
            for draft in template.emails
        }
        scenarios = []
        for fields, steps in template.scenarios(emails, segments):
            scenario = add_page(folder, ScenarioPage, "", fields, publish=False, user=user)
            add_steps(scenario, steps, publish=False, user=user)
            scenarios.append(scenario)
    return scenarios
