"""FormRecord.filled_fields: how many of a record's fields hold a value, kept by the form
engine at each save so that the SDV figures count in SQL; existing rows filled here."""

from django.db import migrations, models

BATCH = 2000


def holds_value(value) -> bool:
    # As trialdesk.crf.models.holds_value (copied: a migration keeps the rule of its day).
    return value not in (None, "")


def fill(apps, schema_editor):
    FormRecord = apps.get_model("crf", "FormRecord")  # noqa: N806 (a historical model, no read scope)
    rows = FormRecord.objects.only("pk", "data").order_by("pk").iterator(chunk_size=BATCH)
    batch = []
    for record in rows:
        record.filled_fields = sum(1 for value in (record.data or {}).values() if holds_value(value))
        batch.append(record)
        if len(batch) >= BATCH:
            FormRecord.objects.bulk_update(batch, ["filled_fields"])
            batch = []
    if batch:
        FormRecord.objects.bulk_update(batch, ["filled_fields"])


class Migration(migrations.Migration):

    dependencies = [
        ("crf", "0003_voided_records"),
    ]

    operations = [
        migrations.AddField(
            model_name="formrecord",
            name="filled_fields",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="formrecord",
            index=models.Index(fields=["subject", "status", "filled_fields"], name="crf_record_filled_fields"),
        ),
    ]
