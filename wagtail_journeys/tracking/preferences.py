"""The "Email preferences" page every email links to (``{{ preferences_url }}``,
``{{ unsubscribe_url }}`` and the ``List-Unsubscribe`` header share its signed URL).

- GET shows the preference centre: the contact's subscription topics, ticked as they
  stand, a button to unsubscribe from the email's topic, one to unsubscribe from all
  marketing mail (or to subscribe again). It changes nothing.
- A POST of its form saves the choices, each change with its consent record (source
  ``preferences``, the wording the contact was shown). The form carries a signed token
  of its own (``FORM_SALT``) in place of Django's CSRF token: the page is served to
  people with no session, and mail providers post without cookies.
- Any other POST is an RFC 8058 one-click unsubscribe (``List-Unsubscribe=One-Click``,
  sent by mail providers without a CSRF token): it unsubscribes the contact from the
  email's topic only, or from all marketing mail when the email has no topic.

The page renders ``wagtail_journeys/preferences/page.html``, which extends
``PREFERENCES_BASE_TEMPLATE`` (the app's own standalone page, or the site's ``base.html``).
"""

from __future__ import annotations

from django import forms
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from wagtail.models import Site

from .. import conf, topics
from ..consent import status_record
from ..emails import links
from ..emails.brand import css_colour, css_font_stack
from ..emails.languages import language_of
from ..emails.render import brand_for
from ..models import ConsentRecord, ConsentSource, Contact, EmailStatus, Message, Topic
from . import engagement
from .emails import _message

FORM_SALT = "wagtail_journeys.preferences.form"
#: How long a preference page's form may be posted after it was shown.
FORM_MAX_AGE = 60 * 60 * 24 * 7

ACTIONS = ("save", "unsubscribe_topic", "unsubscribe_all", "resubscribe")
#: The wording of the buttons, kept in consent records as the contact saw it.
UNSUBSCRIBE_ALL = _("Unsubscribe from all our marketing emails")
RESUBSCRIBE = _("Subscribe again")


def form_token(message: Message) -> str:
    """The signed token of a preference form shown for ``message`` (expires after
    ``FORM_MAX_AGE``)."""
    return signing.dumps(message.uuid.hex, salt=FORM_SALT, compress=False)


def _form_token_valid(token: str, message: Message) -> bool:
    try:
        return signing.loads(token, salt=FORM_SALT, max_age=FORM_MAX_AGE) == message.uuid.hex
    except signing.BadSignature:
        return False


class PreferencesForm(forms.Form):
    """What the preference page posts: its token, the button pressed, the topics ticked."""

    form_token = forms.CharField(max_length=500)
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    topics = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args, topic_ids: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topics"].choices = [(pk, pk) for pk in topic_ids]


def _topic_of(message: Message) -> Topic | None:
    """The topic of the message's email, unless the message was transactional."""
    page = message.email_page
    if message.transactional or page is None or not page.topic_id:
        return None
    return page.topic


def _apply(form: PreferencesForm, message: Message, all_topics: list[Topic]) -> str:
    """Carry out a valid form; return what the page says was done."""
    contact = message.contact
    action = form.cleaned_data["action"]
    details = {"message": message.uuid.hex}
    now = timezone.now()
    if action == "unsubscribe_all":
        engagement.unsubscribe_contact(
            message,
            now,
            source=ConsentSource.PREFERENCES,
            wording=str(UNSUBSCRIBE_ALL),
            details=details,
        )
        return gettext("You are unsubscribed. You will not receive our marketing emails any more.")
    if action == "resubscribe":
        if Contact.objects.filter(pk=contact.pk, email_status=EmailStatus.UNSUBSCRIBED).update(
            email_status=EmailStatus.SUBSCRIBED
        ):
            ConsentRecord.objects.bulk_create(
                [
                    status_record(
                        contact.pk,
                        EmailStatus.SUBSCRIBED,
                        source=ConsentSource.PREFERENCES,
                        previous=EmailStatus.UNSUBSCRIBED,
                        wording=str(RESUBSCRIBE),
                        details=details,
                        at=now,
                    )
                ]
            )
        return gettext("You are subscribed again.")
    topic = _topic_of(message)
    if action == "unsubscribe_topic":
        if topic is None:
            return ""
        engagement.unsubscribe_contact(
            message, now, topic=topic, source=ConsentSource.PREFERENCES, details=details
        )
        return gettext("You will not receive emails about “%(topic)s” any more.") % {
            "topic": topic.name
        }
    ticked = set(form.cleaned_data["topics"])
    topics.choose(
        contact,
        {t.pk: t.pk in ticked for t in all_topics},
        all_topics,
        source=ConsentSource.PREFERENCES,
        details=details,
    )
    return gettext("Your choices are saved.")


def _page(request: HttpRequest, message: Message, token: str, *, done: str = "", status=200):
    contact = message.contact
    contact.refresh_from_db(fields=["email_status"])
    all_topics = list(Topic.objects.all())
    chosen = topics.choices_of(contact, all_topics)
    email_topic = _topic_of(message)
    site = Site.find_for_request(request)
    return render(
        request,
        "wagtail_journeys/preferences/page.html",
        {
            "base_template": conf.get("PREFERENCES_BASE_TEMPLATE"),
            "contact": contact,
            "token": token,
            "form_token": form_token(message),
            "done": done,
            "status": contact.email_status,
            "subscribed": contact.email_status == EmailStatus.SUBSCRIBED,
            "can_resubscribe": contact.email_status == EmailStatus.UNSUBSCRIBED,
            "topics": [(t, chosen[t.pk]) for t in all_topics],
            "email_topic": email_topic,
            "email_topic_subscribed": bool(email_topic and chosen.get(email_topic.pk)),
            "style": _style(brand_for(site)),
            "site_name": (site.site_name if site else "") or "",
            "unsubscribe_all_label": UNSUBSCRIBE_ALL,
            "resubscribe_label": RESUBSCRIBE,
        },
        status=status,
    )


def _style(brand) -> dict:
    """The brand settings as CSS values (checked again, as the emails' are)."""
    colours = {
        "primary": ("primary_color", "#1d4ed8"),
        "button_text": ("button_text_color", "#ffffff"),
        "text": ("text_color", "#222222"),
        "heading": ("heading_color", "#111111"),
        "accent": ("accent_color", "#fef3c7"),
        "background": ("background_color", "#f4f4f5"),
        "content_background": ("content_background_color", "#ffffff"),
    }
    style = {key: css_colour(getattr(brand, name), d) for key, (name, d) in colours.items()}
    style["font"] = css_font_stack(brand.font_family)
    style["heading_font"] = css_font_stack(brand.heading_font_family)
    style["logo"] = brand.logo
    return style


@csrf_exempt  # one-click POSTs come without a CSRF token; the form carries a signed one
@never_cache
@require_http_methods(["GET", "POST"])
def email_preferences(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the preference centre. POST with the page's form token: save the choices.
    Any other POST: RFC 8058 one-click unsubscribe from the email's topic (from all
    marketing mail when the email has none). A forged URL token is a 404; a form whose
    token is missing, altered, expired or of another message, or whose values are not
    the page's, is a 400 and changes nothing."""
    message, _ = _message(token, index=links.UNSUBSCRIBE)
    with translation.override(language_of(message.contact)):  # the language of the mail
        if request.method != "POST":
            return _page(request, message, token)
        if "form_token" not in request.POST and "action" not in request.POST:
            engagement.unsubscribe_contact(
                message,
                timezone.now(),
                topic=_topic_of(message),
                details={"one_click": True},
            )
            return _page(request, message, token, done=_one_click_done(message))
        all_topics = list(Topic.objects.all())
        form = PreferencesForm(request.POST, topic_ids=[t.pk for t in all_topics])
        if not form.is_valid() or not _form_token_valid(form.cleaned_data["form_token"], message):
            return _page(
                request,
                message,
                token,
                done=gettext("This form has expired or was altered. Nothing was changed."),
                status=400,
            )
        return _page(request, message, token, done=_apply(form, message, all_topics))


def _one_click_done(message: Message) -> str:
    topic = _topic_of(message)
    if topic is None:
        return gettext("You are unsubscribed. You will not receive our marketing emails any more.")
    return gettext("You will not receive emails about “%(topic)s” any more.") % {
        "topic": topic.name
    }
