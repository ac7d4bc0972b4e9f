"""The bookshop's seed emails (used by ``manage.py journeys_demo``), created once by slug."""

from __future__ import annotations

from wagtail.models import Page, Site

from wagtail_journeys.models import BrandSettings, EmailIndexPage, EmailPage, Segment

from .models import BookIndexPage, BookPage

POSTAL_ADDRESS = "The Bookshop, 12 rue des Libraires, 75005 Paris, France"


def _text(html: str) -> dict:
    return {"type": "text", "value": html}


def _heading(text: str, level: str = "h1") -> dict:
    return {"type": "heading", "value": {"text": text, "level": level}}


def _button(text: str, *, url: str = "", page: Page | None = None) -> dict:
    return {
        "type": "button",
        "value": {"text": text, "url": url, "page": page.pk if page else None},
    }


def _voucher(heading: str, code: str, description: str) -> dict:
    return {
        "type": "voucher",
        "value": {"heading": heading, "code": code, "description": description, "expires_on": None},
    }


def _cards(pages: list[Page], button_text: str = "See the book") -> dict:
    return {"type": "cards", "value": {"pages": [p.pk for p in pages], "button_text": button_text}}


def _columns(*texts: str) -> dict:
    names = ["left", "middle", "right"] if len(texts) == 3 else ["left", "right"]
    kind = "three_columns" if len(texts) == 3 else "two_columns"
    return {"type": kind, "value": {n: [_text(t)] for n, t in zip(names, texts, strict=True)}}


def emails(home: Page, segments: dict | None = None) -> list[dict]:
    """The seed emails' fields, in a stable order. ``segments`` maps "mr"/"mrs" to
    ``Segment``s when they exist (for the per-segment offers)."""
    books = BookIndexPage.objects.child_of(home).first()
    shelf = {b.slug: b for b in BookPage.objects.order_by("pk")}
    hello = '{{ contact.first_name|default("reader") }}'
    offer = []
    if segments:
        offer = [
            {
                "type": "segment",
                "value": {
                    "segment": segments["mrs"].pk,
                    "body": [
                        _text("<p><b>For you, Madam:</b> our Jane Austen box set at -20%.</p>")
                    ],
                    "everyone_else": [],
                },
            },
            {
                "type": "segment",
                "value": {
                    "segment": segments["mr"].pk,
                    "body": [
                        _text("<p><b>For you, Sir:</b> the Stephen King collection at -20%.</p>")
                    ],
                    "everyone_else": [_text("<p>Our staff picks are at -10% this week.</p>")],
                },
            },
        ]
    return [
        {
            "slug": "welcome",
            "title": "Welcome",
            "subject": f"Welcome to The Bookshop, {hello}",
            "preheader": "A voucher for your next order is inside.",
            "body": [
                _heading(f"Welcome, {hello}!"),
                _text("<p>Thank you for joining us. Here is a gift for your next order.</p>"),
                _voucher(
                    "Your welcome voucher", "{{ promo_code|required }}", "10% off your next order."
                ),
                _button("Browse the shelves", page=books),
                *offer,
            ],
        },
        {
            "slug": "complementary-product",
            "title": "Complementary product",
            "subject": f"{hello}, books that go with your last one",
            "preheader": "Picked for readers like you.",
            "body": [
                _heading("You might also like"),
                _text("<p>Readers who bought your last book loved these too.</p>"),
                _cards([shelf["misery"], shelf["gone-girl"], shelf["the-girl-on-the-train"]]),
            ],
        },
        {
            "slug": "summer-selection",
            "title": "Summer selection",
            "subject": "Our summer selection is here",
            "preheader": "Ten books for long evenings.",
            "body": [
                _heading("The summer selection"),
                _text(f"<p>Hello {hello}, here is what our booksellers read this summer.</p>"),
                _columns(
                    "<h3>Thrillers</h3><p>Page-turners for the beach.</p>",
                    "<h3>Classics</h3><p>Timeless, and lighter than you think.</p>",
                ),
                _cards([shelf["dune"], shelf["pride-and-prejudice"]], "Read more"),
                {"type": "divider", "value": None},
                *offer,
                _button("See the whole selection", page=books),
            ],
        },
        {
            "slug": "birthday",
            "title": "Birthday",
            "subject": f"Happy birthday, {hello}!",
            "preheader": "A present from The Bookshop.",
            "body": [
                _heading(f"Happy birthday, {hello}!"),
                _text('<p>Today, {{ today|date("j F") }}, a book is on us.</p>'),
                _voucher("Your birthday present", "BIRTHDAY15", "15% off, all month long."),
                _button("Choose your book", page=books),
            ],
        },
        {
            "slug": "abandoned-cart",
            "title": "Abandoned cart",
            "subject": "You left something in your cart",
            "preheader": "Your books are waiting, with a promo code.",
            "body": [
                _heading("Still thinking about it?"),
                _text(f"<p>{hello}, your cart is saved. Finish your order with this code:</p>"),
                _voucher("Promo code", '{{ promo_code|default("COMEBACK5") }}', "5% off today."),
                _button("Back to my cart", url='{{ cart_url|default("http://localhost:8000/") }}'),
            ],
        },
        {
            "slug": "win-back",
            "title": "Win-back",
            "subject": f"We miss you, {hello}",
            "preheader": "New books arrived since your last visit.",
            "body": [
                _heading("It has been a while"),
                _text("<p>Here is what is new on our shelves.</p>"),
                _columns(
                    "<p><b>Horror</b><br>New Stephen King.</p>",
                    "<p><b>Science fiction</b><br>Dune, reissued.</p>",
                    "<p><b>Classics</b><br>Austen in paperback.</p>",
                ),
                {"type": "spacer", "value": {"height": 16}},
                _button("Come back and browse", page=books),
            ],
        },
        {
            "slug": "white-paper-follow-up",
            "title": "White-paper follow-up",
            "subject": "Your white paper: How readers choose books",
            "preheader": "The PDF, and three findings to start with.",
            "body": [
                _heading("Here is your white paper"),
                _text(
                    f"<p>Hello {hello}, thank you for downloading our study.</p>"
                    "<ul><li>Readers trust booksellers' picks.</li>"
                    "<li>Covers matter less than you think.</li>"
                    "<li>Newsletters drive one purchase in five.</li></ul>"
                ),
                _button(
                    "Download the PDF",
                    url='{{ download_url|default("http://localhost:8000/white-paper/") }}',
                ),
            ],
        },
        {
            # Double opt-in (WAGTAIL_JOURNEYS["DOUBLE_OPT_IN"]): sent to every new signup,
            # whose subscription starts only when the button is clicked.
            "slug": "confirm-subscription",
            "title": "Confirm your subscription",
            "subject": "Please confirm your subscription to The Bookshop",
            "preheader": "One click, and our newsletter is on its way.",
            "body": [
                _heading(f"One last step, {hello}"),
                _text(
                    "<p>You asked to hear from The Bookshop: new books, offers and our "
                    "booksellers' picks, once a month. Please confirm that this address "
                    "is yours.</p>"
                ),
                _button("Yes, subscribe me", url="{{ confirm_url }}"),
                _text(
                    "<p>The link works for three days. If you did not sign up, ignore this "
                    "email: you will not hear from us again.</p>"
                ),
            ],
        },
    ]


def civility_segments() -> dict[str, Segment]:
    """The "Mr" and "Mrs" segments the seed emails' per-segment offers refer to."""
    found = {}
    for civility, name in (("mr", "Mr"), ("mrs", "Mrs")):
        found[civility], _ = Segment.objects.get_or_create(
            slug=civility,
            defaults={
                "name": name,
                "rules": [{"type": "civility", "value": {"negate": False, "civility": [civility]}}],
            },
        )
    return found


def create_emails(home: Page, segments: dict | None = None) -> int:
    """Create the email folder and the seed emails that are missing; return how many."""
    segments = segments if segments is not None else civility_segments()
    index = EmailIndexPage.objects.child_of(home).first()
    if index is None:
        index = EmailIndexPage(title="Emails", slug="emails")
        home.add_child(instance=index)
        index.save_revision().publish()
    site = Site.objects.filter(is_default_site=True).first()
    if site:
        brand = BrandSettings.for_site(site)
        if not brand.postal_address:
            brand.postal_address = POSTAL_ADDRESS
            brand.footer_text = "You receive this email because you joined The Bookshop."
            brand.save()
    created = 0
    for fields in emails(home, segments):
        page = EmailPage.objects.child_of(index).filter(slug=fields["slug"]).first()
        if page is None:
            page = EmailPage(**fields)
            index.add_child(instance=page)
            page.save_revision().publish()
            created += 1
        elif segments and not any(b.block_type == "segment" for b in page.body):
            page.body = fields["body"]
            page.save_revision().publish()
    return created
