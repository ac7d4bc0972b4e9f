"""The demo scenarios of the bookshop (the seed cases of the scenarios feature).

Idempotent: each email, segment and scenario is found by slug before being created, so
``journeys_demo`` can run again without duplicating anything.
"""

from __future__ import annotations

import datetime as dt

from wagtail.models import Page

from wagtail_journeys.models import (
    Branch,
    ConditionStep,
    EmailIndexPage,
    EmailPage,
    ExitStep,
    ScenarioIndexPage,
    ScenarioPage,
    Segment,
    SendEmailStep,
    UpdateContactStep,
    WaitStep,
)
from wagtail_journeys.scenarios.building import add_page, add_steps, event_rule
from wagtail_journeys.scenarios.guard import publishing_together


def published_child(parent: Page, model, slug: str, **fields) -> Page:
    """The child of ``parent`` with this slug, created and published when missing (the
    scenario builder's ``add_page``, publishing)."""
    return add_page(parent, model, slug, fields, publish=True)


def _email(index: Page, slug: str, title: str, subject: str, text: str, page=None) -> EmailPage:
    """The demo email with this slug: the emails app's seed email when it exists (welcome,
    complementary-product, summer-selection, birthday, abandoned-cart, win-back), else one
    created here."""
    body = [{"type": "text", "value": f"<p>Hello {{{{ contact.first_name }}}},</p><p>{text}</p>"}]
    if page is not None:
        body.append(
            {"type": "button", "value": {"text": page.title[:80], "page": page.pk, "url": ""}}
        )
    return published_child(index, EmailPage, slug, title=title, subject=subject, body=body)


def _segment(slug: str, name: str, rules: list) -> Segment:
    segment, _ = Segment.objects.get_or_create(slug=slug, defaults={"name": name, "rules": rules})
    return segment


_event_rule = event_rule


def _steps(parent: Page, steps: list) -> None:
    """Create ``(model, slug, fields, children)`` steps under ``parent`` (once), published."""
    add_steps(parent, steps, publish=True)


def create_scenarios(home: Page) -> int:
    """Create the demo emails, segments and the seven scenarios; return scenarios created."""
    from .models import FormPage

    newsletter = FormPage.objects.get(slug="newsletter")
    white_paper = FormPage.objects.get(slug="white-paper")
    emails = published_child(home, EmailIndexPage, "emails", title="Emails")
    e = {
        slug: _email(emails, slug, title, subject, text, page)
        for slug, title, subject, text, page in [
            (
                "welcome",
                "Welcome + voucher",
                "Welcome! Here is {{ promo_code }}",
                "Thank you for your first order: 10% off the next with your code.",
                None,
            ),
            (
                "thrillers",
                "More thrillers",
                "Thrillers you will like",
                "Since you like suspense, here are our best thrillers.",
                None,
            ),
            (
                "complementary-product",
                "Our classics",
                "A classic to go with it",
                "A complementary read from our classics range.",
                None,
            ),
            (
                "summer-selection",
                "Summer selection",
                "Our summer selection",
                "Twelve books for the beach.",
                None,
            ),
            (
                "abandoned-cart",
                "Your cart is waiting",
                "You left something behind",
                "Your cart is still here; take 5% off with your code.",
                None,
            ),
            (
                "birthday",
                "Happy birthday",
                "Happy birthday {{ contact.first_name }}!",
                "A present from us: a voucher for your birthday.",
                None,
            ),
            (
                "king-best",
                "Best of Stephen King",
                "The best of Stephen King",
                "Our booksellers' favourite King novels.",
                None,
            ),
            (
                "king-like",
                "Stephen King, and books like his",
                "If you like Stephen King",
                "King, and authors who write like him.",
                None,
            ),
            (
                "white-paper-offer",
                "Our white paper",
                "How readers choose books (free)",
                "Download our study of how readers choose books.",
                white_paper,
            ),
            (
                "newsletter-offer",
                "Join our newsletter",
                "New books, once a month",
                "Join the newsletter for new books and offers.",
                newsletter,
            ),
            (
                "win-back",
                "We miss you",
                "We miss you, {{ contact.first_name }}",
                "It has been a while: here is 15% off to come back.",
                None,
            ),
            ("last-chance", "Last chance", "Your voucher ends soon", "Last days to use it.", None),
        ]
    }
    bought_king = _segment(
        "bought-stephen-king",
        "Bought a Stephen King book",
        [_event_rule("purchase", author="Stephen King")],
    )
    inactive = _segment(
        "inactive-90-days",
        "Inactive for 90 days",
        [{"type": "inactive", "value": {"negate": False, "days": 90, "event": ""}}],
    )
    index = published_child(home, ScenarioIndexPage, "scenarios", title="Scenarios")
    before = ScenarioPage.objects.count()

    # One change, checked once complete: built top-down as in the admin, no branch is
    # ever live empty, and loops between the scenarios are found.
    with publishing_together():
        _build_scenarios(index, e, bought_king, inactive, newsletter, white_paper)
    return ScenarioPage.objects.count() - before


def _build_scenarios(index, e, bought_king, inactive, newsletter, white_paper) -> None:
    """The seven scenarios and their steps (each created once)."""
    welcome = published_child(
        index,
        ScenarioPage,
        "welcome-series",
        title="Welcome series",
        trigger_kind="event",
        trigger_event="purchase",
        reentry="once",
    )
    _steps(
        welcome,
        [
            (
                UpdateContactStep,
                "voucher",
                {"title": "Voucher", "promo_code_prefix": "WELCOME"},
                [],
            ),
            (SendEmailStep, "send-welcome", {"title": "Welcome", "email": e["welcome"]}, []),
            (WaitStep, "wait-7-days", {"title": "A week", "amount": 7, "unit": "days"}, []),
            (
                ConditionStep,
                "by-range",
                {"title": "Which range?"},
                [
                    (
                        Branch,
                        "thriller-buyers",
                        {
                            "title": "bought a thriller",
                            "rules": [_event_rule("purchase", category="thriller")],
                        },
                        [
                            (
                                SendEmailStep,
                                "send-thrillers",
                                {"title": "Thrillers", "email": e["thrillers"]},
                                [],
                            )
                        ],
                    ),
                    (
                        Branch,
                        "others",
                        {"title": "everyone else", "is_else": True},
                        [
                            (
                                SendEmailStep,
                                "send-classics",
                                {"title": "Classics", "email": e["complementary-product"]},
                                [],
                            ),
                        ],
                    ),
                ],
            ),
            (WaitStep, "wait-14-days", {"title": "Two weeks", "amount": 14, "unit": "days"}, []),
            (SendEmailStep, "send-summer", {"title": "Summer", "email": e["summer-selection"]}, []),
        ],
    )

    cart = published_child(
        index,
        ScenarioPage,
        "abandoned-cart",
        title="Abandoned cart",
        trigger_kind="event",
        trigger_event="cart_updated",
        reentry="per_days",
        reentry_days=7,
        goal_event="purchase",
    )
    _steps(
        cart,
        [
            (WaitStep, "wait-30-minutes", {"title": "30 min", "amount": 30, "unit": "minutes"}, []),
            (UpdateContactStep, "cart-code", {"title": "Code", "promo_code_prefix": "CART"}, []),
            (SendEmailStep, "send-cart", {"title": "Cart", "email": e["abandoned-cart"]}, []),
        ],
    )

    birthday = published_child(
        index,
        ScenarioPage,
        "birthday",
        title="Birthday",
        trigger_kind="birthday",
        trigger_time=dt.time(9),
        reentry="always",
    )
    _steps(
        birthday,
        [
            (
                UpdateContactStep,
                "birthday-code",
                {"title": "Code", "promo_code_prefix": "BDAY"},
                [],
            ),
            (SendEmailStep, "send-birthday", {"title": "Birthday", "email": e["birthday"]}, []),
        ],
    )

    king = published_child(
        index,
        ScenarioPage,
        "stephen-king-readers",
        title="Stephen King readers",
        trigger_kind="page_view",
        trigger_page_tag="stephen-king",
        trigger_min_views=3,
        trigger_view_days=30,
        exclusion=bought_king,
        reentry="per_days",
        reentry_days=90,
        goal_event="purchase",
        goal_filters={"author": "Stephen King"},
    )
    _steps(
        king,
        [
            (WaitStep, "wait-3-days", {"title": "3 days", "amount": 3, "unit": "days"}, []),
            (
                ConditionStep,
                "opened-newsletter",
                {"title": "Opened a newsletter?"},
                [
                    (
                        Branch,
                        "opened",
                        {
                            "title": "opened an email in 30 days",
                            "rules": [
                                {
                                    "type": "email_engagement",
                                    "value": {
                                        "negate": False,
                                        "action": "opened",
                                        "email": None,
                                        "days": 30,
                                    },
                                }
                            ],
                        },
                        [
                            (
                                SendEmailStep,
                                "send-king-best",
                                {"title": "Best of", "email": e["king-best"]},
                                [],
                            )
                        ],
                    ),
                    (
                        Branch,
                        "did-not-open",
                        {"title": "else", "is_else": True},
                        [
                            (
                                SendEmailStep,
                                "send-king-like",
                                {"title": "Like King", "email": e["king-like"]},
                                [],
                            ),
                        ],
                    ),
                ],
            ),
            (ExitStep, "exit", {"title": "Exit"}, []),
        ],
    )

    signup = published_child(
        index,
        ScenarioPage,
        "newsletter-signup",
        title="Newsletter signup",
        trigger_kind="event",
        trigger_event="form_submitted",
        trigger_filters={"page_id": newsletter.pk},
        reentry="always",
    )
    _steps(
        signup,
        [
            (WaitStep, "wait-1-day", {"title": "A day", "amount": 1, "unit": "days"}, []),
            (
                SendEmailStep,
                "offer-white-paper",
                {"title": "Offer", "email": e["white-paper-offer"]},
                [],
            ),
        ],
    )
    download = published_child(
        index,
        ScenarioPage,
        "white-paper-download",
        title="White-paper download",
        trigger_kind="event",
        trigger_event="form_submitted",
        trigger_filters={"page_id": white_paper.pk},
        reentry="always",
    )
    _steps(
        download,
        [
            (
                ConditionStep,
                "not-subscribed",
                {"title": "Not on the newsletter yet?"},
                [
                    # The condition that breaks the newsletter <-> white paper loop.
                    (
                        Branch,
                        "not-signed-up",
                        {
                            "title": "never signed up to the newsletter",
                            "rules": [
                                _event_rule("form_submitted", negate=True, form="newsletter")
                            ],
                        },
                        [
                            (
                                SendEmailStep,
                                "offer-newsletter",
                                {"title": "Offer", "email": e["newsletter-offer"]},
                                [],
                            )
                        ],
                    ),
                ],
            ),
        ],
    )

    winback = published_child(
        index,
        ScenarioPage,
        "win-back",
        title="Inactivity win-back",
        trigger_kind="segment_entered",
        trigger_segment=inactive,
        trigger_segment_existing=True,
        reentry="per_days",
        reentry_days=180,
        goal_event="purchase",
    )
    _steps(
        winback,
        [
            (UpdateContactStep, "winback-code", {"title": "Code", "promo_code_prefix": "BACK"}, []),
            (SendEmailStep, "send-miss-you", {"title": "Miss you", "email": e["win-back"]}, []),
            (WaitStep, "wait-14", {"title": "Two weeks", "amount": 14, "unit": "days"}, []),
            (SendEmailStep, "send-last-chance", {"title": "Last", "email": e["last-chance"]}, []),
        ],
    )
