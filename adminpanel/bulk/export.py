"""Exporting the users the panel knows, in the import's CSV format.

pymap has no RPC that lists users (PYMAP.md), so the export holds the users
this panel recently looked at or changed (users/recent.py), each read again
now (the user's own roles, as users/records.py reads them). Passwords are
never exported: pymap gives out only its hash, and a hash sent back would be
hashed again (the ``password`` column stays empty, so a re-import changes
only what was edited, and an edited row needs its password added).
"""

from __future__ import annotations

from django.conf import settings

from adminpanel.accounts.session import Operator
from adminpanel.pymap.errors import PymapError, RefusalKey, Refused
from adminpanel.pymap.results import UserRecord
from adminpanel.pymap.servers import PymapServer
from adminpanel.users import recent, records
from adminpanel.users.merge import sorted_roles

from . import csvfile
from .concurrency import run_all

HEADER = ("name", "password", "roles", "params", "action")


def export_csv(server: PymapServer, operator: Operator) -> tuple[str, list[str]]:
    """The CSV text, and the names left out (deleted meanwhile, or unreadable)."""
    names = list(recent.visible_to(operator).order_by("name").values_list("name", flat=True))

    def read(name: str) -> UserRecord | None:
        try:
            return records.read(server, operator, name)
        except Refused as exc:
            if exc.is_(RefusalKey.USER_NOT_FOUND):
                return None
            raise
        except PymapError:
            return None

    concurrency: int = settings.PANEL_BULK_CONCURRENCY
    found = run_all(names, read, concurrency)
    rows = []
    left_out = []
    for name, record in zip(names, found, strict=True):
        if record is None:
            left_out.append(name)
            continue
        rows.append(
            [
                name,
                "",
                csvfile.join_roles(sorted_roles(record.roles)),
                csvfile.join_params(record.params),
                "upsert",
            ]
        )
    return csvfile.write(rows, HEADER), left_out
