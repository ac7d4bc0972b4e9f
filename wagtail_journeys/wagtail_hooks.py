"""Wiring only: hooks and admin viewsets."""

from wagtail import hooks
from wagtail.snippets.models import register_snippet

from .scenarios.publishing import refuse_invalid_publish
from .tracking import forms, pages
from .views.contacts import ContactViewSet
from .views.segments import SegmentViewSet

hooks.register("before_serve_page", pages.record_page_view)
hooks.register("on_serve_page", pages.send_visitor_cookie)
hooks.register("on_serve_page", forms.keep_request)
hooks.register("before_publish_page", refuse_invalid_publish)


@hooks.register("register_admin_viewset")
def register_contact_viewset():
    return ContactViewSet("journeys_contacts")


register_snippet(SegmentViewSet)
