"""``manage.py journeys_demo``: the bookshop's demo content, idempotent and deterministic.

Creates the page tree (home, books tagged by author and genre, a newsletter signup and a
white-paper download form), an admin account, and demo contacts with a history of events.
Running it twice changes nothing; the same seed gives the same data.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from wagtail.models import Page, Site

from wagtail_journeys.contacts import upsert_contact
from wagtail_journeys.events import record_event
from wagtail_journeys.models import Contact, EventSource, Segment

from ...demo_emails import create_emails
from ...demo_scenarios import create_scenarios, published_child
from ...models import BookIndexPage, BookPage, FormField, FormPage, HomePage

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "journeys-demo"  # noqa: S105 (a demo account on localhost)

BOOKS = [
    ("The Shining", "Stephen King", "horror", "12.99", ["stephen-king", "horror"]),
    ("It", "Stephen King", "horror", "14.99", ["stephen-king", "horror"]),
    ("Misery", "Stephen King", "thriller", "10.99", ["stephen-king", "thriller"]),
    ("11/22/63", "Stephen King", "thriller", "13.99", ["stephen-king", "thriller"]),
    ("Gone Girl", "Gillian Flynn", "thriller", "9.99", ["gillian-flynn", "thriller"]),
    ("The Girl on the Train", "Paula Hawkins", "thriller", "8.99", ["paula-hawkins", "thriller"]),
    ("Pride and Prejudice", "Jane Austen", "classic", "6.99", ["jane-austen", "classic"]),
    ("Emma", "Jane Austen", "classic", "6.99", ["jane-austen", "classic"]),
    ("Dune", "Frank Herbert", "science-fiction", "11.99", ["frank-herbert", "science-fiction"]),
    ("Foundation", "Isaac Asimov", "science-fiction", "9.49", ["isaac-asimov", "science-fiction"]),
]

FIRST_NAMES = [
    ("mrs", "Alice"),
    ("mr", "Bruno"),
    ("mrs", "Chloé"),
    ("mr", "David"),
    ("mrs", "Emma"),
    ("mr", "Farid"),
    ("mrs", "Gabrielle"),
    ("mr", "Hugo"),
    ("mrs", "Inès"),
    ("mr", "Jules"),
    ("mrs", "Kenza"),
    ("mr", "Louis"),
    ("mrs", "Manon"),
    ("mr", "Noah"),
    ("mrs", "Olivia"),
]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"]
TIMEZONES = ["Europe/Paris", "Europe/London", "America/New_York", "Asia/Tokyo", "UTC"]


def base_url() -> str:
    """The demo's address (``make demo PORT=…`` sets ``WAGTAILADMIN_BASE_URL``)."""
    return getattr(settings, "WAGTAILADMIN_BASE_URL", "") or "http://localhost:8000"


def site_address() -> tuple[str, int]:
    """The host and port of the demo's address, for its Wagtail ``Site``."""
    url = urlsplit(base_url())
    return url.hostname or "localhost", url.port or (443 if url.scheme == "https" else 80)


def demo_now() -> dt.datetime:
    """Midnight UTC today: the demo's history is the same story, told up to today."""
    return timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)


class Command(BaseCommand):
    help = "Load the example bookshop's demo content (idempotent, deterministic)."

    def add_arguments(self, parser):
        parser.add_argument("--contacts", type=int, default=60, help="Demo contacts to create.")
        parser.add_argument(
            "--pages-only", action="store_true", help="Only the bookshop's page tree."
        )
        parser.add_argument(
            "--home-only",
            action="store_true",
            help="Only the bookshop's home page, as the default site.",
        )
        parser.add_argument(
            "--no-scenarios", action="store_true", help="Everything but the demo scenarios."
        )

    def handle(
        self,
        *args,
        contacts: int,
        pages_only: bool = False,
        home_only: bool = False,
        no_scenarios: bool = False,
        **options,
    ):
        if pages_only or home_only:
            with transaction.atomic():
                if home_only:
                    self.home()
                else:
                    self.pages()
            self.stdout.write(self.style.SUCCESS("Demo pages ready."))
            return
        with transaction.atomic():
            home = self.pages()
            create_emails(home)
            self.admin()
            created = self.contacts(home, contacts)
            self.segments()
            scenarios = 0 if no_scenarios else create_scenarios(home)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo content ready ({created} new contacts, {scenarios} new scenarios)."
            )
        )
        self.stdout.write(f"Admin: {base_url()}/admin/  {ADMIN_USERNAME} / {ADMIN_PASSWORD}")

    def home(self) -> HomePage:
        """The home page, as the root of the default site (replacing Wagtail's own)."""
        root = Page.get_first_root_node()
        home = HomePage.objects.first()
        if home is None:
            home = HomePage(
                title="The Bookshop",
                slug="bookshop",
                intro="<p>Independent books, delivered with care.</p>",
            )
            root.add_child(instance=home)
            home.save_revision().publish()
        # The site's address is the demo's (`make demo PORT=…`): emails link to pages by
        # their full URL, which Wagtail builds from it.
        hostname, port = site_address()
        site = Site.objects.filter(is_default_site=True).first()
        if site is None:
            Site.objects.create(hostname=hostname, port=port, root_page=home, is_default_site=True)
        elif (site.root_page_id, site.hostname, site.port) != (home.pk, hostname, port):
            site.root_page, site.hostname, site.port = home, hostname, port
            site.save()
        Page.objects.filter(depth=2).exclude(pk=home.pk).filter(slug="home", numchild=0).delete()
        return home

    def pages(self) -> HomePage:
        home = self.home()
        books = published_child(
            home, BookIndexPage, "books", title="Books", intro="<p>Our shelves.</p>"
        )
        for title, author, genre, price, tags in BOOKS:
            slug = title.lower().replace(" ", "-").replace("/", "-")
            book = BookPage.objects.child_of(books).filter(slug=slug).first()
            if book is None:
                book = BookPage(
                    title=title,
                    slug=slug,
                    author=author,
                    genre=genre,
                    price=Decimal(price),
                    summary=f"{title}, by {author}.",
                )
                book.tags.add(*tags)
                books.add_child(instance=book)
                book.save_revision().publish()
        self.form(
            home,
            "newsletter",
            "Newsletter",
            "<p>New books and offers, once a month.</p>",
            [("First name", "singleline", False), ("Email", "email", True)],
            # The site runs with double opt-in: the signup is done once the link is followed.
            "<p>Thank you! We have sent you an email: click its link to confirm your "
            "subscription.</p>",
        )
        self.form(
            home,
            "white-paper",
            "Download our white paper: How readers choose books",
            "<p>Leave your email and we send you the PDF.</p>",
            [
                ("Name", "singleline", False),
                ("Email", "email", True),
                ("Company", "singleline", False),
            ],
        )
        return home

    def form(self, home, slug, title, intro, fields, thanks="<p>Thank you!</p>") -> FormPage:
        page = FormPage.objects.child_of(home).filter(slug=slug).first()
        if page is None:
            page = FormPage(
                title=title,
                slug=slug,
                intro=intro,
                thank_you_text=thanks,
                to_address="",
                from_address="",
                subject="",
            )
            for order, (label, kind, required) in enumerate(fields):
                page.form_fields.add(
                    FormField(sort_order=order, label=label, field_type=kind, required=required)
                )
            home.add_child(instance=page)
            page.save_revision().publish()
        return page

    def admin(self) -> None:
        User = get_user_model()
        if not User.objects.filter(username=ADMIN_USERNAME).exists():
            User.objects.create_superuser(ADMIN_USERNAME, "admin@bookshop.example", ADMIN_PASSWORD)

    def contacts(self, home: HomePage, count: int) -> int:
        rng = random.Random(20260601)
        now = demo_now()
        books = list(BookPage.objects.live().order_by("pk"))
        created_count = 0
        for i in range(count):
            civility, first = FIRST_NAMES[i % len(FIRST_NAMES)]
            last = LAST_NAMES[(i * 7) % len(LAST_NAMES)]
            ascii_first = first.lower().replace("é", "e").replace("è", "e")
            email = f"{ascii_first}.{last.lower()}{i}@example.com"
            birth = dt.date(1960 + rng.randrange(45), 1 + rng.randrange(12), 1 + rng.randrange(28))
            if i % 20 == 7:  # a few birthdays today, in the contact's own timezone
                local_today = timezone.now().astimezone(ZoneInfo(TIMEZONES[i % len(TIMEZONES)]))
                birth = dt.date(1984 + 4 * (i % 5), local_today.month, local_today.day)  # leap
            attributes = {"loyalty_points": rng.randrange(0, 500)}
            if i % 6 == 0:
                attributes["referred_by"] = "friend"
            contact, created = upsert_contact(
                email,
                {
                    "first_name": first,
                    "last_name": last,
                    "civility": civility,
                    "birth_date": birth,
                    "timezone": TIMEZONES[i % len(TIMEZONES)],
                    "locale": "fr" if i % 3 == 0 else "en",
                    "sms_opt_in": i % 4 == 0,
                },
                attributes=attributes,
                tags=[rng.choice(["thriller", "classic", "science-fiction", "horror"])],
            )
            if not created:
                continue
            created_count += 1
            # Customers of a shop with history joined before it (the inactivity rule counts
            # joining as activity).
            Contact.objects.filter(pk=contact.pk).update(created_at=now - dt.timedelta(days=400))
            # One contact in ten stopped coming over 100 days ago (the win-back audience).
            inactive = i % 10 == 9
            king_books = [b for b in books if b.author == "Stephen King"]
            for n in range(rng.randrange(2, 12)):
                book = rng.choice(books)
                if i % 7 == 3 and not inactive:  # a Stephen King reader
                    book = king_books[n % len(king_books)]
                days = rng.randrange(100, 300) if inactive else rng.randrange(0, 60)
                when = now - dt.timedelta(days=days, minutes=n)
                record_event(
                    "page_view",
                    contact=contact,
                    properties={
                        "page_id": book.pk,
                        "page_type": "shop.bookpage",
                        "path": book.url_path,
                        "tags": sorted(book.tags.names()),
                    },
                    occurred_at=when,
                    source=EventSource.PAGE,
                    idempotency_key=f"demo:{email}:view:{n}",
                )
            for n in range(rng.randrange(0, 4)):
                book = rng.choice(books)
                days = rng.randrange(100, 330) if inactive else rng.randrange(1, 330)
                when = now - dt.timedelta(days=days)
                record_event(
                    "purchase",
                    contact=contact,
                    properties={
                        "page_id": book.pk,
                        "title": book.title,
                        "author": book.author,
                        "category": book.genre,
                        "tags": sorted(book.tags.names()),
                        "amount": float(book.price) * rng.randrange(1, 15),
                    },
                    occurred_at=when,
                    source=EventSource.API,
                    idempotency_key=f"demo:{email}:purchase:{n}",
                )
        return created_count

    def segments(self) -> None:
        """The seed segments (created once; edits made in the admin are kept)."""
        made: dict[str, Segment] = {}
        for slug, name, description, rules in SEGMENTS:
            rules = [{"type": kind, "value": {"negate": False, **value}} for kind, value in rules]
            for item in rules:
                if item["type"] == "in_segment":
                    item["value"]["segment"] = made[item["value"]["segment"]].pk
            made[slug], _ = Segment.objects.get_or_create(
                slug=slug, defaults={"name": name, "description": description, "rules": rules}
            )


KING = {"key": "tags", "operator": "contains", "value": "stephen-king"}
BY_KING = {"key": "author", "operator": "equals", "value": "Stephen King"}
# Purchases count when a server recorded them: a browser could post any amount.
SPEND = {
    "function": "sum",
    "property": "amount",
    "event": "purchase",
    "filters": [],
    "trust": "server",
}
SEGMENTS = [
    ("birthday-today", "Birthday today", "In their own timezone.", [("birthday", {"days": 0})]),
    ("mr", "Mr", "", [("civility", {"civility": ["mr"]})]),
    ("mrs", "Mrs", "", [("civility", {"civility": ["mrs"]})]),
    (
        "big-spenders",
        "Spent 200+ in 12 months",
        "Total of purchase amounts over the last 365 days.",
        [("event_total", {**SPEND, "at_least": 200.0, "days": 365})],
    ),
    (
        "referred-by-a-friend",
        "Referred by a friend",
        "",
        [("referral", {"source": "referred_by", "value": "friend"})],
    ),
    ("inactive-90-days", "Inactive for 90 days", "Win-back.", [("inactive", {"days": 90})]),
    (
        "stephen-king-readers",
        "Stephen King readers",
        "Viewed pages tagged stephen-king at least 3 times in 30 days.",
        [("event", {"event": "page_view", "at_least": 3, "days": 30, "filters": [KING]})],
    ),
    (
        "bought-stephen-king",
        "Bought a Stephen King book",
        "",
        [("event", {"event": "purchase", "at_least": 1, "filters": [BY_KING]})],
    ),
    (
        "vip",
        "VIP",
        "Big spenders with over 100 loyalty points (a segment within a segment).",
        [
            ("in_segment", {"segment": "big-spenders"}),
            ("attribute", {"key": "loyalty_points", "operator": "greater", "value": "100"}),
        ],
    ),
]
