"""Emails as pages: ``EmailIndexPage`` holds ``EmailPage``s, never served publicly.

Brand settings (logo, colours, fonts, footer, postal address) are a site setting.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel, TitleFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.fields import StreamField
from wagtail.models import Page

from ..emails import mergetags
from ..emails.blocks import EmailBodyBlock
from ..emails.widgets import ColourInput, MergeTagPickerInput, TopicSelect
from ..scenarios.forms import PrivatePageForm

colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Enter a colour such as #1d4ed8."))
font = RegexValidator(r"^[A-Za-z0-9 ,'\-]+$", _("Enter a font stack such as Georgia, serif."))


def validate_merge_tags(value: str) -> None:
    """Field validator: every merge tag in ``value`` is one of the documented set."""
    problems = mergetags.validate(value)
    if problems:
        raise ValidationError(" ".join(problems), code="merge_tag")


def site_of(page):
    """The site a page lives under, URL or not. Wagtail's ``get_site`` finds it through
    ``get_url_parts``, which admin-only pages answer with ``None`` (no "View live"); their
    emails still need their site's brand settings (footer, postal address, colours)."""
    from wagtail.models import Site

    roots = page._get_relevant_site_root_paths()
    return Site.objects.filter(pk=roots[0].site_id).first() if roots else None


class NotRoutable:
    """Pages that exist for the admin only: any public request for them is a 404, and they
    have no URL (so no "View live" link); their forms drop the public page's parts."""

    private_page_options: list[str] = []  # never served: nothing to restrict

    def get_url_parts(self, request=None):
        return None

    def get_site(self):
        return site_of(self)

    def route(self, request, path_components):
        raise Http404

    def serve(self, request, *args, **kwargs):
        raise Http404

    def get_sitemap_urls(self, request=None):
        return []


class EmailIndexPage(NotRoutable, Page):
    """The folder of emails. Not routable: nothing below it is served at a public URL."""

    subpage_types = ["wagtail_journeys.EmailPage"]
    max_count_per_parent = 1
    preview_modes: list[tuple[str, str]] = []  # nothing to show: it has no template
    base_form_class = PrivatePageForm
    content_panels = [TitleFieldPanel("title")]
    promote_panels: list = []

    class Meta:
        verbose_name = _("email folder")


class EmailPage(NotRoutable, Page):
    """A nurture email, written and previewed like a page, compiled once per revision and
    segment variant, personalised per contact (``wagtail_journeys.emails.render_for``)."""

    subject = models.CharField(_("subject"), max_length=200, validators=[validate_merge_tags])
    preheader = models.CharField(
        _("preheader"),
        max_length=200,
        blank=True,
        validators=[validate_merge_tags],
        help_text=_("The line shown after the subject in most inboxes."),
    )
    from_name = models.CharField(_("sender name"), max_length=100, blank=True)
    from_email = models.EmailField(
        _("sender address"), blank=True, help_text=_("Empty: the site's DEFAULT_FROM_EMAIL.")
    )
    topic = models.ForeignKey(
        "wagtail_journeys.Topic",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="emails",
        verbose_name=_("subscription topic"),
        help_text=_(
            "Contacts unsubscribed from this topic do not get this email. Empty: every "
            "subscribed contact may get it."
        ),
    )
    body = StreamField(EmailBodyBlock(), blank=True)
    preview_contact = models.EmailField(
        _("preview as contact"),
        blank=True,
        help_text=_("Email address of a contact to preview the “sample contact” mode with."),
    )

    parent_page_types = ["wagtail_journeys.EmailIndexPage"]
    subpage_types: list[str] = []
    search_fields = Page.search_fields
    base_form_class = PrivatePageForm
    content_panels = [
        TitleFieldPanel("title"),
        FieldPanel("subject", widget=MergeTagPickerInput),
        FieldPanel("preheader"),
        FieldPanel("topic", widget=TopicSelect),
        FieldPanel("body", heading=_("Body")),
        # A contact's address: shown and set only by those who may see contacts.
        FieldPanel("preview_contact", permission="wagtail_journeys.view_contact"),
    ]
    promote_panels = [
        MultiFieldPanel([FieldPanel("from_name"), FieldPanel("from_email")], heading=_("Sender")),
    ]

    class Meta:
        verbose_name = _("email")

    @property
    def preview_modes(self):
        from ..emails.preview import preview_modes

        return preview_modes(self)

    @property
    def default_preview_mode(self):
        return ""

    def _get_dummy_headers(self, original_request=None):
        # Wagtail builds a fresh request for previews; keep ``?contact=`` for the sample mode.
        headers = super()._get_dummy_headers(original_request)
        if original_request is not None and original_request.GET.get("contact"):
            headers["QUERY_STRING"] = urlencode({"contact": original_request.GET["contact"]})
        return headers

    def serve_preview(self, request, mode_name):
        from ..emails.preview import serve_preview

        return serve_preview(self, request, mode_name)


@register_setting(icon="mail")
class BrandSettings(BaseSiteSetting):
    """How emails look: logo, colours, fonts, footer. The unsubscribe link is always added
    to the footer by the email template, whatever these say."""

    logo = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    primary_color = models.CharField(max_length=7, default="#1d4ed8", validators=[colour])
    button_text_color = models.CharField(max_length=7, default="#ffffff", validators=[colour])
    text_color = models.CharField(max_length=7, default="#222222", validators=[colour])
    heading_color = models.CharField(max_length=7, default="#111111", validators=[colour])
    accent_color = models.CharField(max_length=7, default="#fef3c7", validators=[colour])
    background_color = models.CharField(max_length=7, default="#f4f4f5", validators=[colour])
    content_background_color = models.CharField(
        max_length=7, default="#ffffff", validators=[colour]
    )
    font_family = models.CharField(
        max_length=200, default="Helvetica, Arial, sans-serif", validators=[font]
    )
    heading_font_family = models.CharField(
        max_length=200, default="Georgia, 'Times New Roman', serif", validators=[font]
    )
    footer_text = models.TextField(blank=True)
    postal_address = models.TextField(
        help_text=_("The sender's postal address, required in marketing emails."), blank=True
    )

    panels = [
        FieldPanel("logo"),
        MultiFieldPanel(
            [
                FieldPanel("primary_color", widget=ColourInput),
                FieldPanel("button_text_color", widget=ColourInput),
                FieldPanel("text_color", widget=ColourInput),
                FieldPanel("heading_color", widget=ColourInput),
                FieldPanel("accent_color", widget=ColourInput),
                FieldPanel("background_color", widget=ColourInput),
                FieldPanel("content_background_color", widget=ColourInput),
            ],
            heading=_("Colours"),
        ),
        MultiFieldPanel(
            [FieldPanel("font_family"), FieldPanel("heading_font_family")], heading=_("Fonts")
        ),
        FieldPanel("footer_text"),
        FieldPanel("postal_address"),
    ]

    class Meta:
        verbose_name = _("email brand")
