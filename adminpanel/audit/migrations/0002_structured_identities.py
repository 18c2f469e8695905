"""Who acted as a structure (kind, name, act-as) beside the label.

Rows written before this migration have only the label: the identity is read
out of it, ambiguous labels becoming the narrower identity (see
``parse_legacy_label``). The label itself is kept, so every old row reads as
it did.
"""

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from adminpanel.accounts.identity import parse_legacy_label

BATCH = 1000
FIELDS = ["identity_kind", "identity_name", "identity_act_as"]


def identities_from_labels(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    AuditEvent = apps.get_model("audit", "AuditEvent")
    changed = []
    for event in AuditEvent.objects.only("id", "operator").iterator(chunk_size=BATCH):
        identity = parse_legacy_label(event.operator)
        event.identity_kind = identity.kind
        event.identity_name = identity.name[:300]
        event.identity_act_as = identity.act_as[:300]
        changed.append(event)
        if len(changed) == BATCH:
            AuditEvent.objects.bulk_update(changed, FIELDS)
            changed = []
    if changed:
        AuditEvent.objects.bulk_update(changed, FIELDS)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_audit_event"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="identity_act_as",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="identity_kind",
            field=models.CharField(
                choices=[
                    ("user", "User"),
                    ("admin-token", "Admin token"),
                    ("login-token", "Login token (not accepted)"),
                    ("malformed-token", "Malformed token"),
                    ("none", "None"),
                ],
                default="none",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="identity_name",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                fields=["identity_kind", "identity_name", "identity_act_as"],
                name="audit_identity",
            ),
        ),
        migrations.RunPython(identities_from_labels, migrations.RunPython.noop),
    ]
