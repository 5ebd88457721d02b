"""Failed sign-ins in their own append-only chain (LoginFailure and its head) and the
per-address slow-down (LoginThrottle). The head row exists from here on; on PostgreSQL
the failures refuse UPDATE, DELETE and TRUNCATE, and their head only moves forward."""

from django.db import migrations, models

GENESIS_MAC = "0" * 64

POSTGRES_GUARDS = """
CREATE OR REPLACE FUNCTION trialdesk_login_failure_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'failed sign-ins are append-only: % refused on %', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounts_loginfailure_append_only
    BEFORE UPDATE OR DELETE ON accounts_loginfailure
    FOR EACH ROW EXECUTE FUNCTION trialdesk_login_failure_append_only();
CREATE TRIGGER accounts_loginfailure_no_truncate
    BEFORE TRUNCATE ON accounts_loginfailure
    FOR EACH STATEMENT EXECUTE FUNCTION trialdesk_login_failure_append_only();

CREATE OR REPLACE FUNCTION trialdesk_login_failure_head_forward() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.last_sequence > OLD.last_sequence THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' AND NOT EXISTS (SELECT 1 FROM accounts_loginfailurehead) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the head of failed sign-ins only moves forward: % refused on accounts_loginfailurehead', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounts_loginfailurehead_forward
    BEFORE INSERT OR UPDATE OR DELETE ON accounts_loginfailurehead
    FOR EACH ROW EXECUTE FUNCTION trialdesk_login_failure_head_forward();
CREATE TRIGGER accounts_loginfailurehead_no_truncate
    BEFORE TRUNCATE ON accounts_loginfailurehead
    FOR EACH STATEMENT EXECUTE FUNCTION trialdesk_login_failure_head_forward();
"""

POSTGRES_GUARDS_DROP = """
DROP TRIGGER IF EXISTS accounts_loginfailure_append_only ON accounts_loginfailure;
DROP TRIGGER IF EXISTS accounts_loginfailure_no_truncate ON accounts_loginfailure;
DROP TRIGGER IF EXISTS accounts_loginfailurehead_forward ON accounts_loginfailurehead;
DROP TRIGGER IF EXISTS accounts_loginfailurehead_no_truncate ON accounts_loginfailurehead;
DROP FUNCTION IF EXISTS trialdesk_login_failure_append_only();
DROP FUNCTION IF EXISTS trialdesk_login_failure_head_forward();
"""


def create_head(apps, schema_editor):
    head = apps.get_model("accounts", "LoginFailureHead")
    if not head.objects.filter(pk=1).exists():
        head.objects.create(pk=1, last_sequence=0, last_mac=GENESIS_MAC)


def guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_GUARDS, params=None)


def drop_guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_GUARDS_DROP, params=None)


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="LoginFailure",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sequence", models.BigIntegerField(unique=True)),
                ("occurred_at", models.DateTimeField()),
                ("username", models.CharField(blank=True, max_length=150)),
                ("ip", models.CharField(blank=True, max_length=45)),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("credentials", "wrong username or password"),
                            ("locked", "username locked after too many failures"),
                            ("throttled", "too many failures from this address: slowed down"),
                        ],
                        max_length=12,
                    ),
                ),
                ("refusals", models.PositiveIntegerField(default=1)),
                ("previous_mac", models.CharField(max_length=64)),
                ("key_id", models.CharField(max_length=16)),
                ("mac", models.CharField(max_length=64, unique=True)),
            ],
            options={
                "ordering": ["sequence"],
                "indexes": [
                    models.Index(fields=["ip", "occurred_at"], name="accounts_lo_ip_1e8e8f_idx"),
                    models.Index(fields=["username", "occurred_at"], name="accounts_lo_usernam_a9efc9_idx"),
                ],
            },
        ),
        migrations.CreateModel(
            name="LoginFailureHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("last_sequence", models.BigIntegerField(default=0)),
                ("last_mac", models.CharField(max_length=64)),
            ],
        ),
        migrations.CreateModel(
            name="LoginThrottle",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("ip", models.CharField(max_length=45, unique=True)),
                ("blocked_until", models.DateTimeField(blank=True, null=True)),
                ("refusals", models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(create_head, migrations.RunPython.noop),
        migrations.RunPython(guards, drop_guards),
    ]
