"""Login tokens for one user, asked of pymap with the session's token.

The panel needs them to read a user's record as the user sees it (on maildir
the admin token's own role is merged into every record it reads) and to give
an import's worker a token of its own. pymap issues one per Login; maildir
keeps every token it issued for good (a line in pymap-tokens that only
deleting the user removes), so on such a backend the panel keeps the token it
got, sealed, and reuses it instead of asking again on every page view.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.views.decorators.debug import sensitive_variables

from adminpanel.lib.sealing import Purpose, UnsealError, seal, unseal
from adminpanel.pymap import service
from adminpanel.pymap.backends import Capabilities
from adminpanel.pymap.servers import PymapServer

from .models import IssuedToken


@sensitive_variables("session_token", "token")
def for_user(
    server: PymapServer,
    caps: Capabilities,
    session_token: str,
    user: str,
    *,
    reuse: bool,
    fresh: bool = False,
) -> str:
    """A login token for ``user``: a new one from pymap, which issues it only if
    ``session_token`` may act on ``user``, or the kept one.

    The kept one is handed out only with ``reuse``: the caller vouches that the
    session may act on ``user`` (it holds the admin token, or is the user), as
    pymap is not asked. ``fresh`` asks pymap again (the kept token was
    refused); the new one replaces it. Raises what :func:`service.login` raises.
    """
    if not caps.keeps_issued_tokens:
        return service.login(server, user, token=session_token)
    if reuse and not fresh:
        kept = IssuedToken.objects.filter(server=server.name, user=user).first()
        if kept is not None:
            try:
                return unseal(bytes(kept.sealed_token), Purpose.ISSUED_FOR_USER)
            except UnsealError:
                pass  # sealed under another SECRET_KEY: ask again
    token = service.login(server, user, token=session_token)
    sealed = seal(token, Purpose.ISSUED_FOR_USER)
    updated = IssuedToken.objects.filter(server=server.name, user=user).update(sealed_token=sealed)
    if not updated:
        try:
            with transaction.atomic():  # a savepoint, should a caller's transaction be open
                IssuedToken.objects.create(server=server.name, user=user, sealed_token=sealed)
        except IntegrityError:
            pass  # another request kept one meanwhile; this one works as well
    return token


def forget(server: PymapServer, user: str) -> None:
    """Drop the kept token of a user that was deleted (pymap deleted its tokens)."""
    IssuedToken.objects.filter(server=server.name, user=user).delete()
