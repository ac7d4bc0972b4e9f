"""Segments in the admin: the snippet viewset, the live preview endpoint, and the
"in segment" filter of the contacts listing."""

from __future__ import annotations

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorList
from django.http import JsonResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from wagtail.admin.panels import FieldPanel, HelpPanel, ObjectList
from wagtail.admin.ui.tables import Column
from wagtail.admin.widgets.slug import SlugInput
from wagtail.snippets.views.snippets import SnippetViewSet

from .. import conf
from ..exceptions import InvalidRule
from ..models import Contact, Segment
from ..permissions import can_see_contacts
from ..segments.compiler import compile_rules
from ..segments.forms import NameFieldPanel, SegmentForm
from .navigation import MENU_HOOK

SAMPLE_SIZE = 10


class CountColumn(Column):
    """The number of members: one COUNT per listed segment, reused for
    ``SEGMENT_COUNT_CACHE_SECONDS`` (a saved edit changes the key, so it shows at once)."""

    def get_value(self, instance):
        key = f"journeys:segment-count:{instance.pk}:{instance.updated_at.timestamp()}"
        count = cache.get(key)
        if count is None:
            try:
                count = instance.count()
            except InvalidRule as exc:
                return format_html('<span class="error-message">{}</span>', exc)
            cache.set(key, count, conf.get("SEGMENT_COUNT_CACHE_SECONDS"))
        return count

    def get_cell_context_data(self, instance, parent_context):
        """The count links to the contacts listing filtered by the segment, for users who
        may see contacts."""
        context = super().get_cell_context_data(instance, parent_context)
        request = parent_context.get("request")
        if isinstance(context["raw_value"], int) and request and can_see_contacts(request.user):
            context["value"] = format_html(
                '<a href="{}">{}</a>', members_url(instance), context["value"]
            )
        return context


def members_url(segment: Segment) -> str:
    """The contacts listing filtered by ``segment`` (its ``segment`` filter)."""
    return f"{reverse('journeys_contacts:index')}?{urlencode({'segment': segment.pk})}"


class SegmentViewSet(SnippetViewSet):
    model = Segment
    icon = "group"
    menu_label = _("Segments")
    add_to_admin_menu = True
    menu_hook = MENU_HOOK  # in the "Marketing" group
    menu_order = 200
    list_display = ["name", "slug", CountColumn("count", label=_("Contacts")), "updated_at"]
    search_fields = ["name", "slug", "description"]
    copy_view_enabled = True
    edit_handler = ObjectList(
        [
            NameFieldPanel("name", placeholder=False),
            # ASCII, as the model's SlugField takes (Wagtail's widget allows Unicode).
            FieldPanel("slug", widget=SlugInput({"data-w-slug-allow-unicode-value": "false"})),
            FieldPanel("description"),
            FieldPanel("match"),
            FieldPanel("rules"),
            HelpPanel(
                template="wagtail_journeys/segments/preview_panel.html",
                heading=_("Matching contacts"),
            ),
        ],
        base_form_class=SegmentForm,
    )

    def get_urlpatterns(self):
        from django.urls import path

        return [
            *super().get_urlpatterns(),
            path("preview/", self.preview_view, name="preview"),
        ]

    @property
    def preview_view(self):
        viewset = self

        @require_POST
        def view(request):
            return preview(request, viewset)

        return view


def block_error_messages(error: ValidationError, where: str = "") -> list[str]:
    """The messages of a (nested) StreamField validation error, each with its place
    ("Rule 2, value: Enter a number…") instead of Wagtail's generic summary."""
    nested = getattr(error, "block_errors", None) or {}
    if nested:
        own = getattr(error, "non_block_errors", ErrorList()).as_data()
        texts = [text for item in own for text in item.messages]
    else:
        texts = error.messages
    messages = [f"{where}: {text}" if where else text for text in texts]
    for key, child in nested.items():
        label = str(key + 1) if isinstance(key, int) else str(key)
        place = f"{where}, {label}" if where else f"Rule {label}"
        messages.extend(block_error_messages(child, place))
    return messages


def preview(request, viewset: SegmentViewSet) -> JsonResponse:
    """Count and sample of the contacts matching the form's in-progress rules.

    Binds the edit form to the posted data, so it validates exactly as saving would;
    returns ``{"errors": [...]}`` (HTTP 200) for invalid rules, never a 500. The sample
    (addresses and names) goes only to users who may see contacts; others get the count,
    an empty sample and a ``note`` saying why.
    """
    if not request.user.has_perm("wagtail_journeys.change_segment") and not (
        request.user.has_perm("wagtail_journeys.add_segment")
    ):
        return JsonResponse({"errors": [str(_("You may not edit segments."))]}, status=403)
    instance = Segment()
    pk = request.GET.get("pk")
    if pk and pk.isdigit():
        instance = Segment.objects.filter(pk=pk).first() or Segment()
    form_class = viewset.get_form_class()
    form = form_class(request.POST, instance=instance, for_user=request.user)
    try:
        form.is_valid()
    except (KeyError, ValueError, TypeError):
        # A hand-made or truncated post (no ``rules-count``…): the widgets cannot read it.
        return JsonResponse({"errors": [str(_("The rules are incomplete."))]})
    errors = [f"{form.fields['match'].label}: {m}" for m in form.errors.get("match", [])]
    for error in form.errors.get("rules", ErrorList()).as_data():
        errors.extend(block_error_messages(error))
    if "rules" not in form.cleaned_data or "match" not in form.cleaned_data:
        return JsonResponse({"errors": errors or [str(_("The rules are incomplete."))]})
    if errors:
        return JsonResponse({"errors": errors})
    try:
        ctx = None
        if instance.pk:
            from ..segments.compiler import make_context

            ctx = make_context().within(instance.pk, instance.name)
        q = compile_rules(form.cleaned_data["rules"], form.cleaned_data["match"], ctx=ctx)
        contacts = Contact.objects.filter(q)
        count = contacts.count()
        if not can_see_contacts(request.user):
            note = _("Only people who may see contacts see which contacts match.")
            text = _count_text(count)
            return JsonResponse(
                {"errors": [], "count": count, "count_text": text, "sample": [], "note": str(note)}
            )
        sample = [
            {"id": c.pk, "email": c.email, "name": c.full_name}
            for c in contacts.order_by("-id")[:SAMPLE_SIZE]
        ]
    except InvalidRule as exc:
        return JsonResponse({"errors": [str(exc)]})
    # The listing filtered by the segment shows its saved rules: link the count to it only
    # while the form's rules are those.
    saved = instance.pk and not {"rules", "match"} & set(form.changed_data)
    url = members_url(instance) if saved else ""
    return JsonResponse(
        {
            "errors": [],
            "count": count,
            "count_text": _count_text(count),
            "sample": sample,
            "note": "",
            "contacts_url": url,
        }
    )


def _count_text(count: int) -> str:
    """The count as a sentence in the user's language: "1 contact matches"."""
    return ngettext("%(count)s contact matches", "%(count)s contacts match", count) % {
        "count": count
    }
