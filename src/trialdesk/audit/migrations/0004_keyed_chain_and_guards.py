"""The chain is keyed (HMAC): MAC columns and the key id; the head row exists from here on;
on PostgreSQL the trail refuses UPDATE, DELETE and TRUNCATE, and the head only moves forward."""

from django.db import migrations, models

GENESIS_MAC = "0" * 64

POSTGRES_GUARDS = """
CREATE OR REPLACE FUNCTION trialdesk_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused on %', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent;
CREATE TRIGGER audit_auditevent_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION trialdesk_audit_append_only();
CREATE TRIGGER audit_auditevent_no_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION trialdesk_audit_append_only();

CREATE OR REPLACE FUNCTION trialdesk_audit_head_forward() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.last_sequence > OLD.last_sequence THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' AND NOT EXISTS (SELECT 1 FROM audit_auditchainhead) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit chain head only moves forward: % refused on audit_auditchainhead', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_auditchainhead_forward
    BEFORE INSERT OR UPDATE OR DELETE ON audit_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION trialdesk_audit_head_forward();
CREATE TRIGGER audit_auditchainhead_no_truncate
    BEFORE TRUNCATE ON audit_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION trialdesk_audit_head_forward();
"""

POSTGRES_GUARDS_DROP = """
DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_auditchainhead_forward ON audit_auditchainhead;
DROP TRIGGER IF EXISTS audit_auditchainhead_no_truncate ON audit_auditchainhead;
DROP FUNCTION IF EXISTS trialdesk_audit_head_forward();
"""


def create_head(apps, schema_editor):
    head = apps.get_model("audit", "AuditChainHead")
    event = apps.get_model("audit", "AuditEvent")
    if not head.objects.filter(pk=1).exists():
        last = event.objects.order_by("-sequence").values_list("sequence", "mac").first()
        head.objects.create(pk=1, last_sequence=last[0] if last else 0, last_mac=last[1] if last else GENESIS_MAC)


def guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_GUARDS, params=None)


def drop_guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_GUARDS_DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_signature")]
    operations = [
        migrations.RenameField("auditevent", "previous_hash", "previous_mac"),
        migrations.RenameField("auditevent", "hash", "mac"),
        migrations.AddField("auditevent", "key_id", models.CharField(max_length=16, default=""), preserve_default=False),
        migrations.RenameField("auditchainhead", "last_hash", "last_mac"),
        migrations.RunPython(create_head, migrations.RunPython.noop),
        migrations.RunPython(guards, drop_guards),
    ]
