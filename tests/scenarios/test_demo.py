"""The demo scenarios: created once, checked clean of errors, the loop found and guarded."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from wagtail_journeys.models import ScenarioPage
from wagtail_journeys.scenarios.report import check_all

pytestmark = pytest.mark.django_db


def test_demo_scenarios_are_idempotent_and_have_no_errors():
    call_command("journeys_demo", contacts=0, stdout=io.StringIO())
    call_command("journeys_demo", contacts=0, stdout=io.StringIO())
    assert ScenarioPage.objects.live().count() == 7
    problems = check_all()
    assert [p for _, p in problems if p.level == "error"] == []
    loops = [p.message for _, p in problems if p.code == "loop"]
    assert len(loops) == 1
    assert "Newsletter signup" in loops[0] and "White-paper download" in loops[0]
    assert "guarded" in loops[0]
    out = io.StringIO()
    call_command("journeys_check", stdout=out)
    assert "0 error(s)" in out.getvalue()
