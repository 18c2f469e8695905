"""A bulk run's one-time passwords file belongs to the operator who applied
the run (issue 26, point 3): another admin sees that it exists and who may
fetch it, is refused, and leaves the file in place; every attempt is audited."""

from __future__ import annotations

import pytest
from django.test import Client

from adminpanel.audit.models import AuditEvent
from adminpanel.bulk.models import PlanState

from .support.bulk import csv_bytes, passwords_file, run, upload_plan
from .support.pymap_users import MakeUser
from .support.users import page, signed_in_admin, signed_in_admin_user
from .test_bulk_apply import uid

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("mail_spool", "pymap_server"),
    # Two admins who are two users: on maildir only the admin token acts on others.
    pytest.mark.backends("dict", "redis"),
]


def _downloads() -> list[tuple[str, str, str]]:
    events = AuditEvent.objects.filter(action="bulk-passwords").order_by("id")
    return [(e.identity_name, e.outcome, e.target) for e in events]


def test_only_the_operator_who_applied_a_run_may_download_its_passwords(
    client: Client, pymap_user: MakeUser
) -> None:
    maker = signed_in_admin(client, pymap_user)
    applier_client = Client()
    applier = signed_in_admin_user(applier_client, pymap_user)
    names = [uid("owned"), uid("owned")]
    plan = upload_plan(client, csv_bytes([n, "", "", "", ""] for n in names))
    # The second admin applies the plan the first one made.
    assert applier_client.post(f"/bulk/{plan.pk}/apply/").status_code == 302
    assert run(plan) == PlanState.FINISHED
    target = f"bulk plan {plan.pk}"

    # The maker sees that the file exists and who may fetch it, without a link.
    seen = page(client.get(f"/bulk/{plan.pk}/"))
    assert f"Only {applier.name}, who applied this plan, can download them" in seen
    assert f"/bulk/{plan.pk}/passwords.csv" not in seen
    refused = client.get(f"/bulk/{plan.pk}/passwords.csv")
    assert refused.status_code == 403
    assert f"Only {applier.name}, who applied this plan" in page(refused)
    assert "text/csv" not in refused["Content-Type"]
    assert _downloads() == [(maker, "NotTheApplier", target)]

    # The file is still there for the one who applied the run: once.
    assert f"/bulk/{plan.pk}/passwords.csv" in page(applier_client.get(f"/bulk/{plan.pk}/"))
    assert sorted(passwords_file(applier_client, plan)) == sorted(names)
    assert applier_client.get(f"/bulk/{plan.pk}/passwords.csv").status_code == 410
    assert _downloads() == [
        (maker, "NotTheApplier", target),
        (applier.name, "ok", target),
        (applier.name, "Gone", target),
    ]
    # The log names who acted, never what the file held.
    details = " ".join(AuditEvent.objects.values_list("detail", flat=True))
    assert f"only {applier.name} may download them" in details
