"""Foreign keys lose their own single-column index where another index of the table leads
with the same column and serves the same lookups (a contact's enrolments, events,
messages, consents and topic choices; a scenario's enrolments and segment members; an
email's messages; the cascades when one is deleted): each index is written on every
insert, and enrolments and messages are written again at most steps. The test
``tests/test_schema.py`` keeps it so.

Only the indexes are dropped (``RunPython``): Django's ``AlterField`` would rebuild each
table on SQLite, copying every event and message, to drop one index."""

import django.db.models.deletion
from django.db import migrations, models

FIELDS = [
    ("consentrecord", "contact"),
    ("enrollment", "contact"),
    ("enrollment", "scenario"),
    ("event", "contact"),
    ("message", "contact"),
    ("message", "email_page"),
    ("segmenttriggermember", "scenario"),
    ("topicsubscription", "contact"),
    ("topicsubscription", "topic"),
]


def columns(apps):
    for model_name, field_name in FIELDS:
        model = apps.get_model("wagtail_journeys", model_name)
        yield model, model._meta.get_field(field_name)


def drop_indexes(apps, schema_editor):
    for model, field in columns(apps):
        for name in schema_editor._constraint_names(
            model, [field.column], index=True, unique=False, type_=models.Index.suffix
        ):
            schema_editor.execute(schema_editor._delete_index_sql(model, name))


def create_indexes(apps, schema_editor):
    for model, field in columns(apps):
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_journeys", "0023_claim_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="consentrecord",
                    name="contact",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="consents",
                        to="wagtail_journeys.contact",
                    ),
                ),
                migrations.AlterField(
                    model_name="enrollment",
                    name="contact",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="enrollments",
                        to="wagtail_journeys.contact",
                    ),
                ),
                migrations.AlterField(
                    model_name="enrollment",
                    name="scenario",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="enrollments",
                        to="wagtail_journeys.scenariopage",
                    ),
                ),
                migrations.AlterField(
                    model_name="event",
                    name="contact",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="wagtail_journeys.contact",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="contact",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="wagtail_journeys.contact",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="email_page",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="messages",
                        to="wagtail_journeys.emailpage",
                    ),
                ),
                migrations.AlterField(
                    model_name="segmenttriggermember",
                    name="scenario",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="wagtail_journeys.scenariopage",
                    ),
                ),
                migrations.AlterField(
                    model_name="topicsubscription",
                    name="contact",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="topic_choices",
                        to="wagtail_journeys.contact",
                    ),
                ),
                migrations.AlterField(
                    model_name="topicsubscription",
                    name="topic",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="choices",
                        to="wagtail_journeys.topic",
                    ),
                ),
            ],
        ),
    ]
