"""Subscription topics in the admin: a snippet viewset in the "Marketing" group (the
email editor chooses a topic with ``emails.widgets.TopicSelect``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.admin.ui.tables import BooleanColumn, Column
from wagtail.admin.widgets.slug import SlugInput
from wagtail.snippets.views.snippets import SnippetViewSet

from ..models import Topic
from .navigation import MENU_HOOK


class TopicViewSet(SnippetViewSet):
    """The "Topics" admin menu: what contacts choose from in the preference centre."""

    model = Topic
    icon = "tag"
    menu_label = _("Topics")
    add_to_admin_menu = True
    menu_hook = MENU_HOOK  # in the "Marketing" group
    menu_order = 250
    list_display = [
        "name",
        "slug",
        "description",
        BooleanColumn("subscribed_by_default", label=_("Subscribed by default")),
        Column("emails_count", label=_("Emails"), accessor=lambda t: t.emails.count()),
        "sort_order",
    ]
    search_fields = ["name", "slug", "description"]
    panels = [
        FieldPanel("name"),
        # ASCII, as the model's SlugField takes (Wagtail's widget allows Unicode).
        FieldPanel("slug", widget=SlugInput({"data-w-slug-allow-unicode-value": "false"})),
        FieldPanel("description"),
        FieldPanel("subscribed_by_default"),
        FieldPanel("sort_order"),
    ]
