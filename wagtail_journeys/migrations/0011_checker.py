import uuid

from django.db import migrations, models


def give_each_plan_a_key(apps, schema_editor):
    ScenarioPlan = apps.get_model("wagtail_journeys", "ScenarioPlan")
    for plan in ScenarioPlan.objects.filter(key__isnull=True).only("pk").iterator():
        ScenarioPlan.objects.filter(pk=plan.pk).update(key=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_journeys", "0010_segments"),
    ]

    operations = [
        migrations.AddField(
            model_name="notifystep",
            name="posts_back",
            field=models.CharField(
                blank=True,
                help_text=(
                    "Comma-separated event names the webhook's receiver may record for this "
                    "contact (through the events API) in answer, e.g. crm_synced. The scenario "
                    "checker counts them as caused by this step, to find loops."
                ),
                max_length=500,
                verbose_name="events the receiver posts back",
            ),
        ),
        migrations.AddField(
            model_name="scenarioplan",
            name="key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(give_each_plan_a_key, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="scenarioplan",
            name="key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
