"""Wiring only: hooks, permission policies and admin viewsets."""

from django.contrib.auth.models import Permission
from django.templatetags.static import static
from django.urls import include, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.actions import action_registry
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet

from .models import ConsentRecord, Contact, Message
from .permissions import ContactPermissionPolicy
from .scenarios import editor
from .tracking import forms, pages
from .views import canvas, imports, library, navigation, reports, suggestions, switching
from .views.consents import ConsentRecordPermissionPolicy, ConsentRecordViewSet
from .views.contacts import ContactViewSet
from .views.emails import SendTestMenuItem, send_test_view
from .views.messages import MessagePermissionPolicy, MessageViewSet
from .views.privacy import EraseContactAction
from .views.rehearsals import RehearseMenuItem, rehearse_view
from .views.segments import SegmentViewSet
from .views.topics import TopicViewSet

hooks.register("before_serve_page", pages.record_page_view)
hooks.register("on_serve_page", pages.send_visitor_cookie)
hooks.register("on_serve_page", forms.keep_request)
hooks.register("before_publish_page", editor.keep_scenario_drafts)
hooks.register("construct_page_action_menu", editor.hide_publish)
hooks.register("before_unpublish_page", editor.refuse_invalid_unpublish)
hooks.register("before_move_page", editor.move_as_draft)
hooks.register("before_delete_page", editor.delete_as_draft)
hooks.register("before_create_page", library.offer_templates)
hooks.register("before_bulk_action", editor.begin_bulk_action)
hooks.register("after_bulk_action", editor.finish_bulk_action)
hooks.register("after_create_page", canvas.open_canvas_after_create)

# Contacts: the model's add/change/delete/view permissions, adding and deleting only for
# those who may see contacts (docs/reference/permissions.md).
register_permission_policy(Contact, ContactPermissionPolicy(Contact))
# Deleting a contact anywhere in the admin erases it (docs/how-to/privacy.md).
action_registry.register(Contact, EraseContactAction)
# Messages name contacts: seeing them needs seeing contacts; nobody edits them.
register_permission_policy(Message, MessagePermissionPolicy(Message))
# Consent records too (append-only: nobody edits them).
register_permission_policy(ConsentRecord, ConsentRecordPermissionPolicy(ConsentRecord))


# One "Marketing" group in the sidebar (docs/how-to/admin-navigation.md).
hooks.register("register_admin_menu_item", navigation.marketing_menu_item)


@hooks.register("register_admin_viewset")
def register_contact_viewset():
    return ContactViewSet("journeys_contacts", menu_hook=navigation.MENU_HOOK, menu_order=100)


@hooks.register("register_admin_viewset")
def register_message_viewset():
    return MessageViewSet("journeys_messages", menu_hook=navigation.MENU_HOOK, menu_order=500)


@hooks.register("register_admin_viewset")
def register_consent_record_viewset():
    return ConsentRecordViewSet("journeys_consents")


@hooks.register(navigation.MENU_HOOK)
def register_emails_menu_item():
    return navigation.FolderMenuItem("emails", _("Emails"), icon_name="mail", order=300)


@hooks.register(navigation.MENU_HOOK)
def register_scenarios_menu_item():
    return navigation.FolderMenuItem(
        "scenarios", _("Scenarios"), icon_name="folder-open-inverse", order=400
    )


@hooks.register("register_admin_urls")
def register_folder_urls():
    return [path("journeys/folders/", include((navigation.admin_urls(), "journeys_folders")))]


register_snippet(SegmentViewSet)
register_snippet(TopicViewSet)


@hooks.register("insert_editor_js")
def autosave_guard_js():
    return format_html(
        '<script src="{}"></script>', static("wagtail_journeys/js/autosave-guard.js")
    )


@hooks.register("register_admin_urls")
def register_email_urls():
    return [
        path(
            "journeys/emails/<int:page_id>/send-test/",
            send_test_view,
            name="wagtail_journeys_send_test",
        )
    ]


@hooks.register("register_admin_urls")
def register_switching_urls():
    return [
        path(f"journeys/scenarios/<int:page_id>/{slug}/", view, name=f"wagtail_journeys_{name}")
        for slug, name, view in (
            ("switch-on", "switch_on", switching.switch_on_view),
            ("publish-changes", "publish_changes", switching.publish_changes_view),
            ("pause", "pause", switching.pause_view),
            ("resume", "resume", switching.resume_view),
        )
    ]


@hooks.register("register_page_action_menu_item")
def register_send_test_item():
    return SendTestMenuItem()


for item in (
    switching.SwitchOnMenuItem,
    switching.PublishChangesMenuItem,
    switching.PauseMenuItem,
    switching.ResumeMenuItem,
):
    hooks.register("register_page_action_menu_item", item)


@hooks.register("register_admin_urls")
def register_rehearsal_urls():
    return [
        path(
            "journeys/scenarios/<int:page_id>/rehearse/",
            rehearse_view,
            name="wagtail_journeys_rehearse",
        )
    ]


@hooks.register("register_page_action_menu_item")
def register_rehearse_item():
    return RehearseMenuItem()


@hooks.register("register_log_actions")
def register_log_actions(actions):
    actions.register_action(
        "wagtail_journeys.publish_refused",
        _("Scheduled publish refused"),
        _("Scheduled publish refused: the scenario would fail the checker"),
    )
    for action, label, message in (
        ("switch_on", _("Switch on"), _("Switched on: the scenario and its steps went live")),
        ("publish_changes", _("Publish changes"), _("Published every change of the scenario")),
        ("pause", _("Pause"), _("Paused: nobody new enters")),
        ("resume", _("Resume"), _("Resumed")),
        ("erase", _("Erase"), _("Erased: the contact's data was deleted everywhere")),
    ):
        actions.register_action(f"wagtail_journeys.{action}", label, message)


@hooks.register("register_admin_urls")
def register_canvas_urls():
    return [path("journeys/scenarios/", include((canvas.admin_urls(), "journeys_scenarios")))]


@hooks.register("register_page_header_buttons")
def page_canvas_button(page, user, view_name, next_url=None):
    button = canvas.canvas_button(page, user)
    return [button] if button else []


@hooks.register("register_page_listing_more_buttons")
def page_listing_canvas_button(page, user, next_url=None):
    button = canvas.canvas_button(page, user)
    return [button] if button else []


@hooks.register("register_admin_urls")
def register_suggestion_urls():
    return [path("journeys/suggest/", include((suggestions.admin_urls(), "journeys_suggest")))]


@hooks.register("register_admin_urls")
def register_import_urls():
    return [path("journeys/contacts-import/", include((imports.admin_urls(), "journeys_imports")))]


@hooks.register("register_admin_urls")
def register_library_urls():
    return [path("journeys/library/", include((library.admin_urls(), "journeys_library")))]


@hooks.register("register_admin_urls")
def register_report_urls():
    return [path("journeys/reports/", include((reports.admin_urls(), "journeys_reports")))]


@hooks.register(navigation.MENU_HOOK)
def register_reports_menu_item():
    return reports.ReportsMenuItem(
        _("Reports"),
        reverse("journeys_reports:index"),
        name="journeys-reports",
        icon_name="table",
        order=600,
    )


@hooks.register("construct_homepage_panels")
def add_reports_panel(request, panels):
    if reports.can_view_reports(request.user):
        panels.append(reports.ReportsPanel())


@hooks.register("register_page_header_buttons")
def page_report_button(page, user, view_name, next_url=None):
    button = reports.report_button(page, user)
    return [button] if button else []


@hooks.register("register_permissions")
def register_report_permission():
    return Permission.objects.filter(
        content_type__app_label="wagtail_journeys", codename="view_reports"
    )


@hooks.register("register_page_listing_more_buttons")
def page_listing_report_button(page, user, next_url=None):
    button = reports.report_button(page, user)
    return [button] if button else []
