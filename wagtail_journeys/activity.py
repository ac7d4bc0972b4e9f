"""A contact's events in words: "Viewed *Gone Girl*", "Opened *Welcome*", "Bought 2 items,
€34.90".

``describe`` is pure: it takes an event's name, source and properties, and the titles of
the pages they name (``page_ids`` lists the ids to look up, in one query for a whole feed),
and returns a sentence as safe HTML in which every value from the event is escaped. Events
of a kind it does not know are shown by their name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models.events import IDENTIFIED

#: Currency codes shown as their symbol before the amount.
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}
#: The longest link or text shown in a sentence (the raw properties hold it whole).
SHOWN_CHARS = 80


@dataclass(frozen=True)
class Activity:
    """One line of a contact's feed: an icon name (Wagtail's) and the sentence."""

    icon: str
    text: SafeString


def page_ids(name: str, properties: Mapping[str, Any] | None) -> set[int]:
    """The page ids an event's sentence names (viewed page, email), to look up at once."""
    if not isinstance(properties, Mapping):
        return set()
    keys = ("page_id",) if name in ("page_view", "form_submitted") else ("email_page_id",)
    return {v for k in keys if isinstance(v := properties.get(k), int) and not isinstance(v, bool)}


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _title(properties: Mapping[str, Any], titles: Mapping[int, str], key: str) -> str | None:
    """The title of the page ``properties[key]`` names, or the event's own ``title``."""
    value = titles.get(properties.get(key)) if isinstance(properties.get(key), int) else None
    if value:
        return value
    own = properties.get("title")
    return _short(own) if isinstance(own, str) and own else None


def money(amount: Any, currency: Any = "") -> str | None:
    """``€34.90``, ``34.90 CHF``, ``34.90``; None for what is not a number."""
    if isinstance(amount, bool) or not isinstance(amount, int | float | str | Decimal):
        return None
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    text = number_format(value.quantize(Decimal("0.01")), decimal_pos=2)
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if code in CURRENCY_SYMBOLS:
        return f"{CURRENCY_SYMBOLS[code]}{text}"
    return f"{text} {_short(code)}" if code else text


def _item_count(properties: Mapping[str, Any]) -> int | None:
    items = properties.get("items")
    if isinstance(items, list) and items:
        total = 0
        for item in items:
            quantity = item.get("quantity", 1) if isinstance(item, Mapping) else 1
            ok = isinstance(quantity, int) and not isinstance(quantity, bool) and quantity > 0
            total += quantity if ok else 1
        return total
    quantity = properties.get("quantity")
    if isinstance(quantity, int) and not isinstance(quantity, bool) and quantity > 0:
        return quantity
    return None


def _purchase(properties: Mapping[str, Any]) -> SafeString:
    count = _item_count(properties)
    price = money(properties.get("amount", properties.get("total")), properties.get("currency"))
    product = properties.get("title") or properties.get("product") or properties.get("name")
    if count and count > 1 or not isinstance(product, str) or not product:
        what = (
            ngettext("%(count)s item", "%(count)s items", count) % {"count": count} if count else ""
        )
        if what and price:
            return format_html(_("Bought {items}, {price}"), items=what, price=price)
        if price:
            return format_html(_("Bought for {price}"), price=price)
        return format_html(_("Bought {items}"), items=what) if what else SafeString(_("Bought"))
    if price:
        return format_html(
            _("Bought <em>{product}</em>, {price}"), product=_short(product), price=price
        )
    return format_html(_("Bought <em>{product}</em>"), product=_short(product))


def _email(sentence: str, title: str | None, fallback: str) -> SafeString:
    return format_html(sentence, email=title or fallback)


def describe(
    name: str, source: str, properties: Mapping[str, Any] | None, titles: Mapping[int, str]
) -> Activity:
    """The event in words, escaped (see the module's docstring)."""
    props: Mapping[str, Any] = properties if isinstance(properties, Mapping) else {}
    an_email = _("an email")
    email = _title(props, titles, "email_page_id")
    machine = props.get("machine") is True
    if name == "page_view":
        title = _title(props, titles, "page_id") or _short(props.get("path") or _("a page"))
        return Activity("doc-empty", format_html(_("Viewed <em>{page}</em>"), page=title))
    if name == "form_submitted":
        title = _title(props, titles, "page_id") or _short(props.get("form") or "")
        if not title:
            return Activity("form", _("Submitted a form"))
        return Activity("form", format_html(_("Submitted the form <em>{form}</em>"), form=title))
    if name == "email_sent":
        return Activity("mail", _email(_("Was sent <em>{email}</em>"), email, an_email))
    if name == "email_opened":
        text = (
            _("<em>{email}</em> was opened by a machine (privacy protection, scanner)")
            if machine
            else _("Opened <em>{email}</em>")
        )
        return Activity("view", _email(text, email, an_email))
    if name == "email_clicked":
        link = _short(props.get("text") or props.get("url") or _("a link"))
        text = (
            _("A machine followed <em>{link}</em> in <em>{email}</em> (link scanner)")
            if machine
            else _("Clicked <em>{link}</em> in <em>{email}</em>")
        )
        return Activity("link", format_html(text, link=link, email=email or an_email))
    if name == "email_delivered":
        return Activity("check", _email(_("<em>{email}</em> was delivered"), email, an_email))
    if name == "email_bounced":
        text = (
            _("<em>{email}</em> bounced (permanently)")
            if props.get("bounce") == "hard"
            else _("<em>{email}</em> bounced")
        )
        return Activity("warning", _email(text, email, an_email))
    if name == "email_complained":
        return Activity("warning", _email(_("Marked <em>{email}</em> as spam"), email, an_email))
    if name == "email_rejected":
        text = _("<em>{email}</em> was rejected by the email provider")
        return Activity("warning", _email(text, email, an_email))
    if name == "unsubscribed":
        if email:
            text = format_html(_("Unsubscribed (from <em>{email}</em>)"), email=email)
        else:
            text = SafeString(_("Unsubscribed"))
        return Activity("cross", text)
    if name == IDENTIFIED:
        return Activity(
            "user", SafeString(_("Identified: their earlier visits in this browser now count"))
        )
    if name == "subscription_confirmed":
        return Activity("check", SafeString(_("Confirmed their subscription (double opt-in)")))
    if name == "purchase":
        return Activity("tag", _purchase(props))
    return Activity("pick", format_html(_("<code>{name}</code>"), name=name))


def titles_needed(events: Iterable[Any]) -> set[int]:
    """The page ids the sentences of ``events`` (``Event`` rows) name."""
    ids: set[int] = set()
    for event in events:
        ids |= page_ids(event.name, event.properties)
    return ids
