"""lib/many_rows.py: many rows, each with values of its own, in one
statement, prepared as the ORM prepares a save (the PostgreSQL side is
tests/test_scale_out.py's bulk plan)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from adminpanel.bulk.models import BulkPlan, BulkRow, Kind, RowState
from adminpanel.lib.many_rows import insert_each, update_each

pytestmark = pytest.mark.django_db


def _rows(count: int) -> list[BulkRow]:
    plan = BulkPlan.objects.create(
        server="local", backend_label="dict", source_name="users.csv", upload_bytes=1,
        spool_name=uuid.uuid4().hex,
    )  # fmt: skip
    return BulkRow.objects.bulk_create(
        BulkRow(plan=plan, line=2 + i, name=f"u{i}", requested="create", kind=Kind.UNREAD,
                state=RowState.NOT_APPLIED)
        for i in range(count)
    )  # fmt: skip


def test_each_row_gets_its_own_values_in_one_statement_and_the_guard_holds() -> None:
    first, second, third = _rows(3)
    BulkRow.objects.filter(pk=third.pk).update(kind=Kind.REFUSED)
    values = [
        (row.pk, {"kind": Kind.CREATE, "params": {"n": str(i), "ü": "\u00e9"},
                  "sealed_password": bytes([i, 0, 255]), "changes": [f"c{i}"]})
        for i, row in enumerate((first, second, third))
    ]  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        update_each(BulkRow, values, where={"kind": Kind.UNREAD})
    assert len(queries) == 1
    stored = {row.pk: row for row in BulkRow.objects.all()}
    assert stored[first.pk].params == {"n": "0", "ü": "é"}
    assert stored[second.pk].changes == ["c1"]
    sealed = stored[second.pk].sealed_password
    assert sealed is not None
    assert bytes(sealed) == bytes([1, 0, 255])
    assert stored[second.pk].kind == Kind.CREATE
    # The third no longer matched the guard: left as it was.
    assert (stored[third.pk].kind, stored[third.pk].params) == (Kind.REFUSED, {})


def test_rows_must_name_the_same_fields() -> None:
    first, second = _rows(2)
    with pytest.raises(ValueError, match="same fields"):
        update_each(BulkRow, [(first.pk, {"kind": Kind.CREATE}), (second.pk, {"reason": "r"})])
    with pytest.raises(ValueError, match="cannot set"):
        update_each(BulkPlan, [(first.plan_id, {"rows": 1})])  # a reverse relation
    update_each(BulkRow, [])  # nothing to do


def test_inserted_rows_get_their_values_and_the_fields_defaults_in_one_statement() -> None:
    [row] = _rows(1)
    rows = [
        {"plan_id": row.plan_id, "line": 10 + i, "name": f"n{i}", "requested": "update",
         "kind": Kind.UNREAD, "state": RowState.NOT_APPLIED, "params": {"k": "v\u00e9"},
         "sealed_password": b"\x00\xff" if i else None}
        for i in range(3)
    ]  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        insert_each(BulkRow, rows)
    assert len(queries) == 1
    made = list(BulkRow.objects.filter(line__gte=10).order_by("line"))
    assert [item.name for item in made] == ["n0", "n1", "n2"]
    assert made[1].params == {"k": "vé"}
    assert made[0].sealed_password is None
    assert made[2].sealed_password is not None
    assert bytes(made[2].sealed_password) == b"\x00\xff"
    # Left out: each field's default.
    assert (made[0].has_roles, made[0].roles, made[0].reason) == (True, [], "")
    with pytest.raises(ValueError, match="no field"):
        insert_each(BulkRow, [{**rows[0], "plan": row.plan}])
    insert_each(BulkRow, [])  # nothing to do
