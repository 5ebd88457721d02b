import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("subjects", "0005_pending_enrollment_and_consents"),
    ]

    operations = [
        migrations.CreateModel(
            name="DeviationAcknowledgement",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=200)),
                ("comment", models.TextField()),
                ("acknowledged_role", models.CharField(max_length=20)),
                ("acknowledged_at", models.DateTimeField()),
                (
                    "acknowledged_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "subject",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deviation_acknowledgements",
                        to="subjects.subject",
                    ),
                ),
            ],
            options={"base_manager_name": "internal", "default_manager_name": "objects"},
        ),
        migrations.AddConstraint(
            model_name="deviationacknowledgement",
            constraint=models.UniqueConstraint(
                fields=("subject", "key"), name="one_acknowledgement_per_deviation"
            ),
        ),
    ]
