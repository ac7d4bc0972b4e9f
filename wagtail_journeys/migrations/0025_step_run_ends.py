"""``StepRun.ends``: the end of the scenario recorded on the run of the step that led to
it (one row instead of two). Nothing to back-fill: an end written before has a run of its
own, which every reader still counts. The column keeps a database default, so workers
still on the previous code insert their runs while this runs."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_journeys", "0024_fk_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="steprun",
            name="ends",
            field=models.CharField(blank=True, db_default="", default="", max_length=10),
        ),
    ]
