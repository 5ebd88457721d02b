"""Signatures move from the audit app to their own app: the table stays (audit_signature),
only Django's model state moves."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [
        ("audit", "0004_keyed_chain_and_guards"),
        ("crf", "0001_initial"),
        ("subjects", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Signature",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "scope",
                            models.CharField(choices=[("subject", "Casebook"), ("visit", "Visit")], max_length=10),
                        ),
                        ("printed_name", models.CharField(max_length=300)),
                        ("signed_at", models.DateTimeField()),
                        (
                            "meaning",
                            models.CharField(
                                choices=[
                                    ("approve_casebook", "I approve the data of this casebook"),
                                    ("approve_visit", "I approve the data of this visit"),
                                ],
                                max_length=40,
                            ),
                        ),
                        ("meaning_text", models.CharField(max_length=300)),
                        ("content_sha256", models.CharField(max_length=64)),
                        ("record_versions", models.JSONField(default=dict)),
                        (
                            "status",
                            models.CharField(
                                choices=[("valid", "Valid"), ("voided", "Voided")], default="valid", max_length=10
                            ),
                        ),
                        ("voided_at", models.DateTimeField(blank=True, null=True)),
                        ("void_reason", models.CharField(blank=True, max_length=500)),
                        (
                            "signer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="signatures",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "subject",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="signatures",
                                to="subjects.subject",
                            ),
                        ),
                        (
                            "visit",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="signatures",
                                to="subjects.visit",
                            ),
                        ),
                        (
                            "voided_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "voided_by_record",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="crf.formrecord",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "audit_signature",
                        "ordering": ["-signed_at", "-pk"],
                        "indexes": [
                            models.Index(fields=["subject", "status"], name="audit_signa_subject_2b7b84_idx")
                        ],
                    },
                ),
            ],
            database_operations=[],
        )
    ]
