"""Personalise many: fill a compiled email for one contact, from a two-level cache.

The compiled template of a (revision's content, segment variant) is looked up in an
in-process LRU, then in Django's cache (``EMAIL_CACHE``), and compiled only when both miss
(keyed by a digest of the content: row ids come back after a rollback). Per contact,
only merge tags are evaluated (HTML-escaped in HTML, plain in text) and links signed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.utils import translation
from django.utils.translation import gettext_noop

from .. import conf, confirmation
from . import links, mergetags
from .compiler import VERSION, CompiledEmail, compile_email
from .languages import TEXTS, language_of, texts_in
from .mergetags import Scope

LRU_SIZE = 256
LRU_SECONDS = 60
_lru: OrderedDict[tuple, tuple[float, CompiledEmail]] = OrderedDict()
_lock = threading.Lock()
GENERATION_KEY = "journeys:email:generation"


@dataclass(frozen=True)
class RenderedEmail:
    """One contact's email, ready to send — unless ``missing`` names required merge tags
    (``{{ promo_code|required }}``) that were empty for this contact: then it must be held."""

    subject: str
    preheader: str
    html: str
    text: str
    message_uuid: uuid.UUID
    missing: tuple[str, ...] = ()
    #: ``html`` and ``text`` in the pieces their templates yielded (``mergetags.fill_pieces``).
    html_pieces: tuple[str, ...] = ()
    text_pieces: tuple[str, ...] = ()


def held_reason(missing: tuple[str, ...] | list[str]) -> str:
    """Why a send is held: the required merge tags that were empty ("" when none). An
    entry with a space is a reason of its own (the email could not be filled)."""
    reasons = [name for name in missing if " " in name]
    names = [name for name in missing if " " not in name]
    if names:
        tags = ", ".join(f"{{{{ {name} }}}}" for name in names)
        reasons.insert(
            0,
            translation.ngettext(
                "required merge tag %(tags)s is empty",
                "required merge tags %(tags)s are empty",
                len(names),
            )
            % {"tags": tags},
        )
    return "; ".join(reasons)


def brand_for(site):
    """The site's brand settings (defaults when none were saved)."""
    from ..models import BrandSettings

    if site is None:
        return BrandSettings()
    return BrandSettings.for_site(site)


def forget_compiled(**kwargs) -> None:
    """Drop every compiled email (brand settings changed): bump the cache generation."""
    cache = caches[conf.get("EMAIL_CACHE")]
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 1, None)
    with _lock:
        _lru.clear()


def revision_id_of(page) -> int | None:
    """The revision the page object stands for: the live one, else the latest draft."""
    return page.live_revision_id if page.live and page.live_revision_id else page.latest_revision_id


def segment_ids(page) -> list[int]:
    """Ids of the segments the page's segment blocks refer to, in order of appearance."""
    found: list[int] = []

    def walk(data) -> None:
        if isinstance(data, dict):
            if data.get("type") == "segment" and isinstance(data.get("value"), dict):
                segment = data["value"].get("segment")
                if isinstance(segment, int) and segment not in found:
                    found.append(segment)
            for item in data.values():
                walk(item)
        elif isinstance(data, list):
            for item in data:
                walk(item)

    walk(list(page.body.raw_data))
    return found


def _source(page, revision_id: int) -> tuple[Any, str]:
    """The page content that ``revision_id`` stands for, and a digest of the revision.

    The digest keys the caches: a row id alone is not enough, since SQLite hands out the
    id of a rolled-back revision again; equal digests mean the same stored content, so
    whatever is cached under one was compiled from the same source. One small query (the
    content is hashed as the database returns it, not parsed)."""
    from django.db.models import TextField
    from django.db.models.functions import Cast
    from wagtail.models import Revision

    raw = (
        Revision.objects.filter(pk=revision_id)
        .annotate(raw=Cast("content", output_field=TextField()))
        .values_list("raw", flat=True)
        .get()
    )
    digest = hashlib.sha256(f"{revision_id}:{raw}".encode()).hexdigest()
    if revision_id == revision_id_of(page):
        return page, digest
    return Revision.objects.get(pk=revision_id).as_object(), digest


def compiled_for(page, variant=(), *, revision_id: int | None = None) -> CompiledEmail:
    """The compiled email of ``page`` (its revision ``revision_id``, by default the one the
    object stands for) for a variant; compiled at most once per process and cache for the
    same content (keyed by a digest of the revision's content, never by its id alone)."""
    variant = tuple(sorted(variant))
    revision_id = revision_id or revision_id_of(page)
    if revision_id is None:
        return compile_email(page, variant)
    source, digest = _source(page, revision_id)
    key = (digest, variant)
    now = time.monotonic()
    with _lock:
        hit = _lru.get(key)
        if hit and now - hit[0] < LRU_SECONDS:
            _lru.move_to_end(key)
            return hit[1]
    cache = caches[conf.get("EMAIL_CACHE")]
    generation = cache.get(GENERATION_KEY, 0)
    cache_key = f"journeys:email:{VERSION}:{generation}:{digest}:{','.join(map(str, variant))}"
    compiled = cache.get(cache_key)
    if compiled is None:
        compiled = compile_email(source, variant)
        cache.set(cache_key, compiled, conf.get("EMAIL_CACHE_TIMEOUT"))
    with _lock:
        _lru[key] = (now, compiled)
        while len(_lru) > LRU_SIZE:
            _lru.popitem(last=False)
    return compiled


def variant_of(page, contact) -> tuple[int, ...]:
    """The segments (among those the email refers to) that contain the contact."""
    ids = segment_ids(page)
    if not ids or contact is None or contact.pk is None:
        return ()
    from ..models import Segment

    return tuple(sorted(s.pk for s in Segment.objects.filter(pk__in=ids) if s.contains(contact)))


class _Links:
    """The links of one fill, numbered as the HTML meets them (a link in a loop once per
    item): what the ``_link`` and ``_text_link`` filters of a compiled template call."""

    def __init__(self, compiled: CompiledEmail, url_for, *, addresses: bool = True):
        self.compiled = compiled
        self.url_for = url_for
        self.addresses = addresses  # False: tracked, the address is looked up on click
        self.targets: list[str] = []
        self.by_hole: dict[int, list[str]] = {}
        self.text_seen: dict[int, int] = {}

    def html(self, hole: int, *values) -> str:
        if not self.addresses:  # tracked: the address is looked up on click
            targets = self.targets
            targets.append("")
            url = self.url_for(len(targets) - 1, "")
            self.by_hole.setdefault(hole, []).append(url)
            return url
        parts = self.compiled.links[hole] if 0 <= hole < len(self.compiled.links) else ()
        target = "".join(
            p if p.__class__ is str else mergetags._text(mergetags.shown(values[p]))
            for p in parts
            if p.__class__ is str or p < len(values)
        )
        self.targets.append(target)
        url = self.url_for(len(self.targets) - 1, target)
        self.by_hole.setdefault(hole, []).append(url)
        return url

    def text(self, hole: int) -> str:
        seen = self.text_seen.get(hole, 0)
        self.text_seen[hole] = seen + 1
        urls = self.by_hole.get(hole, [])
        return urls[seen] if seen < len(urls) else ""


def _render(
    compiled: CompiledEmail,
    scope: Scope,
    links: _Links,
    open_url: str,
    *,
    tracked=False,
    words: tuple[str, ...] = (),
):
    """Subject, preheader, HTML and text (the pieces their templates yielded) of
    ``compiled`` for ``scope``, and the required tags left empty. Raises what the
    template raised (``fill`` turns it into a hold).
    ``tracked``: links become click URLs, their addresses are not even computed."""
    variables = scope.variables()
    variables["_links"] = links
    variables["_open"] = open_url
    for number, word in enumerate(words):  # the footer's words (escaped where HTML)
        variables[f"_tx{number}"] = word
    source = compiled.html_tracked if tracked else compiled.html
    pieces = mergetags.fill_pieces(source, variables, html=True)
    text = mergetags.fill_pieces(compiled.text, variables)
    subject = mergetags.fill_template(compiled.subject, variables)
    preheader = mergetags.fill_template(compiled.preheader, variables)
    return subject, preheader, pieces, text, variables["_missing"]


def fill(
    compiled: CompiledEmail,
    contact,
    *,
    context: dict[str, Any] | None = None,
    message_uuid: uuid.UUID | None = None,
    tracked: bool = True,
    root: str | None = None,
    site_name: str | None = None,
    today: dt.date | None = None,
    confirming: bool | None = None,
) -> RenderedEmail:
    """Personalise a compiled email: the only per-contact work of a send. Never raises;
    required tags left empty are named in ``missing`` (and an email the contact's data
    cannot fill says why there). ``{{ today }}`` is ``today`` (by default, the current
    date). ``{{ confirm_url }}`` confirms the contact's subscription only when
    ``confirming`` (by default, in tracked sends): previews, test sends and a sent mail
    shown again get a sample link that confirms nobody."""
    message_uuid = message_uuid or uuid.uuid4()
    root = root or links.prefix()
    key = links.signing_key()
    unsubscribe = links.unsubscribe_url(message_uuid, root=root, key=key)
    if site_name is None:
        site_name = getattr(settings, "WAGTAIL_SITE_NAME", "")
    if not compiled.uses_confirm:
        confirm = ""
    elif contact is not None and (confirming if confirming is not None else tracked):
        confirm = confirmation.confirm_url(contact, root=root)
    else:
        confirm = f"{root}confirm/{confirmation.SAMPLE_TOKEN}"
    urls = {
        "unsubscribe_url": unsubscribe,
        "preferences_url": unsubscribe,
        "confirm_url": confirm,
        "site_name": site_name,
    }
    scope = Scope(contact, context, urls)
    scope.today = today if today is not None or compiled.uses_today else ""
    if tracked:
        raw_uuid = message_uuid.bytes

        def url_for(index: int, target: str) -> str:
            if index >= links.MAX_LINKS:  # beyond what a token can number: not counted
                return "#"
            return links.click_url(raw_uuid, index, root=root, key=key)

        open_url = links.open_url(message_uuid, root=root, key=key)
    else:  # previews and test sends: links point straight at their targets

        def url_for(index: int, target: str) -> str:
            return _safe_url(target)

        open_url = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
    try:
        subject, preheader, pieces, text, held = _render(
            compiled,
            scope,
            _Links(compiled, url_for, addresses=not tracked),
            open_url,
            tracked=tracked,
            words=texts_in(language_of(contact))[len(TEXTS) :],
        )
    except Exception as exc:  # noqa: BLE001 — data the template did not expect: held
        reason = (
            gettext_noop("the email could not be filled for this contact (%(error)s)")
            % {"error": exc}
        )[:300]
        return RenderedEmail("", "", "", "", message_uuid, missing=(reason,))
    return RenderedEmail(
        subject=" ".join(subject.split()),
        preheader=preheader,
        html="".join(pieces),
        text="".join(text),
        message_uuid=message_uuid,
        missing=tuple(dict.fromkeys(held)),
        html_pieces=tuple(pieces),
        text_pieces=tuple(text),
    )


def _safe_url(url: str) -> str:
    """An untracked link keeps only web and mail targets (a contact attribute holding
    ``javascript:…`` must not become a live link in an editor's preview)."""
    return url if url.startswith(("http://", "https://", "mailto:")) else "#"


def link_target(compiled: CompiledEmail, index: int, contact, context=None) -> str | None:
    """The URL link ``index`` of a message points to, for one contact (the HTML is
    filled again to find it: a link inside a loop is one link per item)."""
    if not 0 <= index < links.MAX_LINKS:
        return None
    found = _Links(compiled, lambda i, target: "")
    try:
        _render(compiled, Scope(contact, context, {}), found, "")
    except Exception:  # noqa: BLE001 — the same data could not be mailed either
        return None
    return found.targets[index] if index < len(found.targets) else None


def render_for(
    email_page,
    contact,
    *,
    context: dict[str, Any] | None = None,
    message_uuid: uuid.UUID | None = None,
    variant: tuple[int, ...] | None = None,
    tracked: bool = True,
) -> RenderedEmail:
    """The email ``email_page`` as ``contact`` receives it (compiled once, filled here)."""
    if variant is None:
        variant = variant_of(email_page, contact)
    compiled = compiled_for(email_page, variant)
    return fill(compiled, contact, context=context, message_uuid=message_uuid, tracked=tracked)
