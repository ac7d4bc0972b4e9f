"""The engine's claim of due enrolments reads its batch off an index in claim order: a
broadcast puts every contact due at the same moment, and a claim that sorted all of
them each time grew with the audience (28 ms a claim at 100,000, on disk)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.utils import timezone

from tests.scenarios.factories import make_scenario
from wagtail_journeys.engine.advance import due_rows, in_index_order
from wagtail_journeys.engine.bulk import insert_rows
from wagtail_journeys.models import Contact, Enrollment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


@pytest.mark.parametrize("priority", [False, True])
def test_a_claim_reads_the_due_rows_in_order_without_sorting_them(priority):
    scenario = make_scenario(title="Broadcast")
    now = timezone.now()
    insert_rows([Contact(email=f"c{n}@example.com") for n in range(5000)])
    insert_rows(
        [
            Enrollment(
                contact_id=pk,
                scenario_id=scenario.pk,
                due_at=now - dt.timedelta(minutes=1),  # all due at the same moment
                started_at=now,
                priority=priority,
            )
            for pk in Contact.objects.values_list("pk", flat=True)
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE wagtail_journeys_enrollment")
        with in_index_order():  # as the engine claims
            sql, params = due_rows(now, 500, priority).query.sql_with_params()
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            raw = cursor.fetchone()[0]
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    kinds = [node["Node Type"] for node in nodes(plan)]
    assert "Sort" not in kinds and "Incremental Sort" not in kinds, kinds
    index = "journeys_enr_prio_id" if priority else "journeys_enr_due_id"
    assert index in {node.get("Index Name") for node in nodes(plan)}, plan
