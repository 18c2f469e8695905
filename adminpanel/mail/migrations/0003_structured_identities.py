"""The operator of an import as a structure, as the audit log keeps it.

Jobs made before this migration have only the label; the identity is read
out of it as the audit migration does (``parse_legacy_label``).
"""

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from adminpanel.accounts.identity import parse_legacy_label


def identities_from_labels(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    ImportJob = apps.get_model("mail", "ImportJob")
    for job in ImportJob.objects.only("id", "operator").iterator():
        identity = parse_legacy_label(job.operator)
        ImportJob.objects.filter(pk=job.pk).update(
            identity_kind=identity.kind,
            identity_name=identity.name[:300],
            identity_act_as=identity.act_as[:300],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0002_drop_unused_task_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="identity_act_as",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="importjob",
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
            model_name="importjob",
            name="identity_name",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.RunPython(identities_from_labels, migrations.RunPython.noop),
    ]
