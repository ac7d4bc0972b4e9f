from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_journeys", "0022_rows"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="enrollment",
            name="journeys_enr_due",
        ),
        migrations.RemoveIndex(
            model_name="enrollment",
            name="journeys_enr_prio",
        ),
        migrations.AddIndex(
            model_name="enrollment",
            index=models.Index(
                condition=models.Q(("status", "active")),
                fields=["due_at", "id"],
                name="journeys_enr_due_id",
            ),
        ),
        migrations.AddIndex(
            model_name="enrollment",
            index=models.Index(
                condition=models.Q(("priority", True), ("status", "active")),
                fields=["due_at", "id"],
                name="journeys_enr_prio_id",
            ),
        ),
    ]
