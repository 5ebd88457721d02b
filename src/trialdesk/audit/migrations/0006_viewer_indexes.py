"""The indexes the audit viewer filters on. AddIndex only: CREATE INDEX, which the
append-only triggers do not refuse, and no table rebuild on SQLite."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0005_signature_moves_to_its_app'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['study_id', 'sequence'], name='audit_study_seq'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['study_id', 'site_id', 'sequence'], name='audit_study_site_seq'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['study_id', 'username', 'sequence'], name='audit_study_user_seq'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['study_id', 'field', 'sequence'], name='audit_study_field_seq'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['study_id', 'action', 'sequence'], name='audit_study_action_seq'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['study_id', 'occurred_at'], name='audit_study_occurred'),
        ),
    ]
