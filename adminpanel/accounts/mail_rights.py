"""Whether the operator may open a user's mail or filters, and why not.

What pymap 0.36.7 allows (measured, docs/mail.md): IMAP honours the PLAIN
authorization identity (an admin-role user may act as anyone on dict and
redis; maildir refuses everyone but the user), ManageSieve ignores it (the
session is always the authenticating user's own), and maildir's ManageSieve
keeps no script. So refusals are said before a password is asked for.
"""

from __future__ import annotations

from enum import StrEnum

from adminpanel.pymap.backends import Capabilities
from adminpanel.pymap.servers import PymapServer

from . import mail_access
from .session import Operator


class Service(StrEnum):
    MAILBOXES = "mailboxes"
    FILTERS = "filters"


def refusal(
    server: PymapServer, operator: Operator, caps: Capabilities, target: str, service: Service
) -> str | None:
    """Why the operator cannot use ``service`` for ``target`` (None: they can)."""
    why = mail_access.why_unavailable(operator)
    if why is not None:
        return why
    own = operator.name == target
    if service == Service.MAILBOXES:
        if server.imap is None:
            return (
                "The panel has no IMAP address for this server: set PYMAP_IMAP_HOST (or "
                "imap_host in the servers file) to show mailboxes (docs/servers.md)."
            )
        if not own and caps.only_admin_token_acts_on_others:
            return (
                f"On this server ({caps.label}) pymap lets a user with the admin role act "
                "only on itself over IMAP, as over its admin service; only the admin token "
                "may act on other users, and IMAP takes no token. The user's mailboxes can "
                "be read only with the user's own password, which the panel never asks for."
            )
        if not own and not operator.is_admin:
            return "Without the admin role you may read only your own mailboxes."
        return None
    if server.managesieve is None:
        return (
            "The panel has no ManageSieve address for this server: set "
            "PYMAP_MANAGESIEVE_HOST (or managesieve_host in the servers file) to manage "
            "filters (docs/servers.md)."
        )
    if not caps.keeps_sieve_scripts:
        return (
            f"On this server ({caps.label}) pymap 0.36.7's ManageSieve answers OK to a new "
            "script but keeps nothing, so filters cannot be managed here."
        )
    if not own:
        return (
            "pymap 0.36.7's ManageSieve ignores the authorization identity: signed in with "
            "your password it would show and change your own filters, not this user's. The "
            "panel therefore manages filters only on your own user's page."
        )
    return None
