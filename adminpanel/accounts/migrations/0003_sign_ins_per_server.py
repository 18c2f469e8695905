# The session index gets one row per server a session is signed in to, and
# failed sign-ins are counted per server. Sessions now keep each server's
# operator under its own key, so sessions of the one-server panel are signed
# out by the upgrade: their index rows go with the old table.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_operator_session'),
        ('sessions', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='failedsignin',
            name='server',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.DeleteModel(name='OperatorSession'),
        migrations.CreateModel(
            name='OperatorSession',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('session', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='operator_sessions', to='sessions.session')),
                ('server', models.CharField(max_length=200)),
                ('identity_kind', models.CharField(choices=[('user', 'User'), ('admin-token', 'Admin token'), ('login-token', 'Login token (not accepted)'), ('malformed-token', 'Malformed token'), ('none', 'None')], max_length=16)),
                ('identity_name', models.CharField(blank=True, max_length=300)),
                ('identity_act_as', models.CharField(blank=True, max_length=300)),
            ],
            options={
                'indexes': [models.Index(fields=['server', 'identity_kind', 'identity_name'], name='operator_session_who')],
                'constraints': [models.UniqueConstraint(fields=('session', 'server'), name='operator_session_server')],
            },
        ),
    ]
