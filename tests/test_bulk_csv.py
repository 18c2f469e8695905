"""Hostile CSV uploads, the plan's CSV, the export and who may use the pages."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.bulk.models import BulkPlan, Kind
from devtools.pymap_process import PymapProcess

from .support.bulk import BULK, apply_now, csv_bytes, rows_by_name, upload, upload_plan
from .support.panel_client import sign_in
from .support.pymap_users import MakeUser
from .support.stored import stored_user
from .support.users import signed_in_admin

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("mail_spool", "pymap_server"),
]


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_a_hostile_csv_is_planned_row_by_row_and_guarded_on_the_way_out(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    formula, at_sign, dup = '=HYPERLINK("http://x")' + uid(""), "@SUM(1)" + uid(""), uid("dup")
    rows = [
        [formula, "", "", "", "create"],  # line 2: a name pymap accepts
        [at_sign, "", "", "", "create"],  # line 3
        [uid("nul") + "\x00x", "", "", "", ""],  # line 4
        ["n" * 10_000, "", "", "", ""],  # line 5
        [uid("long"), "", "", "quota=" + "v" * 10_000, ""],  # line 6
        [dup, "", "", "", ""],  # line 7
        [dup, "", "", "", ""],  # line 8
        [uid("badparam"), "", "", "novalue", ""],  # line 9
        [uid("ctl"), "", "bad\nrole", "", ""],  # line 10, a quoted cell over two lines
    ]
    data = b"\xef\xbb\xbf" + csv_bytes(rows)  # with a byte-order mark
    plan = upload_plan(client, data)
    by_line = {row.line: row for row in plan.rows.all()}
    assert by_line[2].kind == Kind.CREATE
    assert by_line[2].name == formula
    assert by_line[3].kind == Kind.CREATE
    assert "line 4, column name: contains a NUL character" in by_line[4].reason
    assert "line 5, column name" in by_line[5].reason
    assert "at most 255" in by_line[5].reason
    assert "line 6, column params" in by_line[6].reason
    assert "4096" in by_line[6].reason
    assert "also on line(s) 8" in by_line[7].reason
    assert by_line[7].kind == Kind.REFUSED
    assert "also on line(s) 7" in by_line[8].reason
    assert by_line[8].kind == Kind.REFUSED
    assert "line 9, column params" in by_line[9].reason
    assert "line 10, column roles" in by_line[10].reason
    assert len(by_line[5].name) == 300  # kept short for display

    page = client.get(f"{BULK}{plan.pk}/").content.decode()
    assert formula not in page
    assert "=HYPERLINK(&quot;" in page
    exported = client.get(f"{BULK}{plan.pk}/plan.csv")
    cells = list(csv.reader(io.StringIO(exported.content.decode())))
    names = [row[1] for row in cells[1:]]
    assert names[0] == "'" + formula
    assert names[1] == "'" + at_sign
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in cells for cell in row)
    assert stored_user(pymap, formula) is None  # planning wrote nothing


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"name\nok-user\n\xff\xfe\n", "Line 3 is not UTF-8"),
        ("name,roles\nj\xfcrgen,\n".encode("latin-1"), "Line 2 is not UTF-8"),
        (b"", "The submitted file is empty"),
        (b"user,pass\nx,y\n", "names columns this format does not have"),
        (b"password\nx\n", "at least a &#x27;name&#x27; column"),
        (b"name,name\nx,y\n", "twice"),
        (b"name\n", "no user rows"),
        (b'name\n"unterminated\n', "cannot be read as CSV"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_saying_where(
    client: Client, pymap_user: MakeUser, data: bytes, message: str
) -> None:
    signed_in_admin(client, pymap_user)
    response = upload(client, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not BulkPlan.objects.exists()


def test_a_post_without_a_file_says_so(client: Client, pymap_user: MakeUser) -> None:
    signed_in_admin(client, pymap_user)
    response = client.post(BULK, {})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


def test_the_limits_on_size_and_rows_are_kept(
    client: Client, pymap_user: MakeUser, settings: DjangoSettings
) -> None:
    signed_in_admin(client, pymap_user)
    settings.PANEL_BULK_MAX_ROWS = 3
    response = upload(client, csv_bytes([[uid("u")] for _ in range(4)], header=["name"]))
    assert response.status_code == 400
    assert "more than 3 rows" in response.content.decode()
    settings.PANEL_BULK_MAX_BYTES = 1024
    response = upload(client, csv_bytes([[uid("u")] for _ in range(100)], header=["name"]))
    assert response.status_code == 400
    assert "PANEL_BULK_MAX_BYTES" in response.content.decode()
    assert not BulkPlan.objects.exists()


def test_the_export_holds_the_users_the_panel_knows_and_imports_back_unchanged(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    first, second = uid("exp"), "-" + uid("exp")
    made = upload_plan(
        client,
        csv_bytes(
            [
                [first, "Export-pass-1", "staff", "", "create"],
                [second, "Export-pass-2", "", "", "create"],
            ]
        ),
    )
    assert apply_now(client, made).state == "finished"
    response = client.get(f"{BULK}export.csv")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="users.csv"'
    text = response.content.decode()
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(text))}
    assert rows[first]["roles"] == "staff"
    assert rows[first]["password"] == ""
    assert "'" + second in rows  # guarded: a leading '-' starts a formula
    assert "pbkdf2" not in text
    assert "$" not in text

    again = upload_plan(client, text.encode())
    kinds = {name: row.kind for name, row in rows_by_name(again).items()}
    assert kinds[first] == Kind.UNCHANGED, kinds
    assert kinds[second] == Kind.UNCHANGED, kinds
    # Edited without the password: refused, not stripped of it.
    edited = text.replace(f"{first},,staff", f"{first},,")
    plan = upload_plan(client, edited.encode())
    assert "needs the password" in rows_by_name(plan)[first].reason


def test_only_operators_who_may_act_on_others_get_the_bulk_pages(
    client: Client, pymap_user: MakeUser
) -> None:
    user = pymap_user("plain")
    sign_in(client, user)
    assert client.get(BULK).status_code == 403
    assert client.get(f"{BULK}export.csv").status_code == 403
    response = upload(client, csv_bytes([[uid("x")]], header=["name"]))
    assert response.status_code == 403
    assert not BulkPlan.objects.exists()
