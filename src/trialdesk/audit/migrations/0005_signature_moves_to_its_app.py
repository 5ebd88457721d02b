"""The Signature model now belongs to the signatures app (same table): state only."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_keyed_chain_and_guards"), ("signatures", "0001_initial")]
    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel("Signature")], database_operations=[])
    ]
