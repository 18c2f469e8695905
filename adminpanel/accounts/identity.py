"""Who acted, as a structure: what authenticated, which user, acting as whom.

pymap accepts any user name, spaces included, so no text can tell an
identity apart from a user's name: a user literally named ``admin token``
must never be taken for the server's admin token. The audit log and every
visibility rule therefore compare :class:`Identity` values (kind, name,
act-as); :attr:`Identity.label` is only how a page shows one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import models


class IdentityKind(models.TextChoices):
    #: A pymap user signed in with a password or with one of its login tokens.
    USER = "user", "User"
    #: The server's admin token (PYMAP_ADMIN_TOKEN).
    ADMIN_TOKEN = "admin-token", "Admin token"
    #: A pasted login token that was not accepted; ``name`` is the user it claims.
    LOGIN_TOKEN = "login-token", "Login token (not accepted)"
    #: Pasted text that is no token at all.
    MALFORMED_TOKEN = "malformed-token", "Malformed token"
    #: No identity is known (records written without one).
    NONE = "none", "None"


@dataclass(frozen=True)
class Identity:
    """``kind`` and ``name`` say who authenticated (``name`` is empty for the
    admin token); ``act_as`` is the user whose rights the session carried
    when that differs (sign-in with "act as"), else empty."""

    kind: IdentityKind
    name: str = ""
    act_as: str = ""

    @property
    def label(self) -> str:
        """How pages and exports name this identity (never compared)."""
        if self.kind == IdentityKind.LOGIN_TOKEN:
            return f"token for {self.name}"
        if self.kind == IdentityKind.MALFORMED_TOKEN:
            return "token (malformed)"
        if self.kind == IdentityKind.NONE:
            return ""
        who = "admin token" if self.kind == IdentityKind.ADMIN_TOKEN else self.name
        return f"{self.act_as} (signed in as {who})" if self.act_as else who


ADMIN_TOKEN = Identity(IdentityKind.ADMIN_TOKEN)

_ACTING = re.compile(r"(?P<act_as>.*) \(signed in as (?P<who>.*)\)", re.DOTALL)


def parse_legacy_label(label: str) -> Identity:
    """The identity behind a label stored before identities were structured.

    Only for those old rows (the migrations use it). Such labels are
    ambiguous, so this errs towards the narrower reading: a label that reads
    as the admin token or a token is taken as one, and so becomes visible to
    admins only, never to a user who happens to bear that name.
    """
    if not label:
        return Identity(IdentityKind.NONE)
    if label == "admin token":
        return ADMIN_TOKEN
    if label == "token (malformed)":
        return Identity(IdentityKind.MALFORMED_TOKEN)
    if label.startswith("token for "):
        return Identity(IdentityKind.LOGIN_TOKEN, label.removeprefix("token for "))
    acting = _ACTING.fullmatch(label)
    if acting is not None:
        who, act_as = acting["who"], acting["act_as"]
        if who == "admin token":
            return Identity(IdentityKind.ADMIN_TOKEN, "", act_as)
        return Identity(IdentityKind.USER, who, act_as)
    return Identity(IdentityKind.USER, label)
