"""Passwords the panel makes up are safe to open in a spreadsheet (issue 26,
point 1): none starts a formula (``= + - @``), none holds a character a CSV
viewer misreads (upper/lower look-alikes, ``_``, quotes, separators), on the
user pages and in a bulk plan's one-time ``passwords.csv``."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from adminpanel.accounts.session import Operator
from adminpanel.bulk import plan
from adminpanel.bulk.csvfile import CsvRow
from adminpanel.lib.spreadsheet import FORMULA_PREFIXES, csv_safe
from adminpanel.pymap.backends import ALL, capabilities
from adminpanel.pymap.servers import PymapServer
from adminpanel.users.password_generator import generate_password

from .support.bulk import apply_now, csv_bytes, passwords_file, upload_plan
from .support.pymap_users import MakeUser
from .support.users import signed_in_admin
from .test_bulk_apply import logs_in, uid

#: Lower-case letters and digits in groups joined by single dashes: no cell
#: a spreadsheet evaluates, turns into a number or date, or splits.
SAFE = re.compile(r"\A[a-z0-9]+(?:-[a-z0-9]+)+\Z")
#: A leading "-" comes once in 64 with secrets.token_urlsafe: 2,000 tries
#: miss it with a chance of about 1e-14.
TRIES = 2000


def _assert_safe(password: str) -> None:
    assert SAFE.match(password), password
    assert not password.startswith(FORMULA_PREFIXES), password
    assert csv_safe(password) == password


def _bulk_generated() -> str:
    row = CsvRow(line=2, name="someone", password="", roles=[], params={}, action="create")
    context = plan.Context(
        server=PymapServer(name="unused", path="/nonexistent"),
        operator=Operator(
            token="unused",
            name="operator",
            is_admin=True,
            server="unused",
            signed_in_at=0.0,
            expires_at=0.0,
            last_seen=0.0,
        ),
        caps=capabilities(ALL),
    )
    planned = plan.classify(row, None, context)
    assert planned.password_generated
    assert planned.password is not None
    return planned.password


@pytest.mark.parametrize("generator", [generate_password, _bulk_generated])
def test_no_generated_password_starts_a_formula_or_holds_a_misread_character(
    generator: object,
) -> None:
    made = [generator() for _ in range(TRIES)]  # type: ignore[operator]
    for password in made:
        _assert_safe(password)
    assert len(set(made)) == TRIES


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("mail_spool")
@pytest.mark.backends("dict")
def test_the_bulk_passwords_file_holds_only_safe_cells_that_sign_in(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    names = [uid("gen") for _ in range(12)]
    made = apply_now(client, upload_plan(client, csv_bytes([n, "", "", "", ""] for n in names)))
    generated = passwords_file(client, made)
    assert sorted(generated) == sorted(names)
    for name, password in generated.items():
        _assert_safe(password)
        assert logs_in(pymap_server, name, password)
