from django.db import migrations, models
from django.db.models import Max
from django.utils import timezone


def start_entries_cursor(apps, schema_editor):
    """Enrolments up to now each have an ``entered`` step run, which the rollup counts
    (or has counted) through ``rollup:runs``: the new cursor ``rollup:entries``, which
    counts enrolments instead, starts after the last of them, so none is counted twice."""
    db = schema_editor.connection.alias
    Enrollment = apps.get_model("wagtail_journeys", "Enrollment")
    EventCursor = apps.get_model("wagtail_journeys", "EventCursor")
    last = Enrollment.objects.using(db).aggregate(m=Max("id"))["m"] or 0
    EventCursor.objects.using(db).update_or_create(
        name="rollup:entries", defaults={"position": last}
    )


def drop_entries_cursor(apps, schema_editor):
    EventCursor = apps.get_model("wagtail_journeys", "EventCursor")
    EventCursor.objects.using(schema_editor.connection.alias).filter(
        name="rollup:entries"
    ).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("wagtail_journeys", "0021_faults"),
    ]

    operations = [
        migrations.AddField(
            model_name="enrollment",
            name="recorded_at",
            field=models.DateTimeField(default=timezone.now, editable=False),
        ),
        migrations.RunPython(start_entries_cursor, drop_entries_cursor),
    ]
