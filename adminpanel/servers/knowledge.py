"""Which backend a pymap server runs: the operator's setting, or what the
panel has learnt from the server's answers (adminpanel/pymap/backends.py).

``PYMAP_ADMIN_BACKEND`` (a server's ``backend``) fixes it. With "auto" the
panel starts from "any of the three" and narrows that down with every answer
that tells backends apart (a sign-in's token and record, a user's record);
the knowledge is kept in the database for every panel process and worker.
Until it is down to one backend, the panel acts as cautiously as the
remaining candidates require.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import transaction

from adminpanel.pymap import backends
from adminpanel.pymap.backends import AUTO, Backend, Capabilities
from adminpanel.pymap.servers import PymapServer

from .models import ServerKnowledge

#: server name -> (until, candidates): what this process last read or wrote.
#: A page that reads a user asks two or three times; the database is asked
#: again after KNOWN_SECONDS, so a narrowing another process learnt is seen
#: then (until then this one acts as cautiously as it knew), and a
#: contradiction (the server restarted on another backend) is always taken
#: to the database by :func:`learn`.
_known: dict[str, tuple[float, frozenset[Backend]]] = {}
KNOWN_SECONDS = 2.0


def forget(**_signal: Any) -> None:
    """Drop what this process keeps (the table was written past learn(), or
    the database was made anew: a test's flush)."""
    _known.clear()


def candidates(server: PymapServer) -> frozenset[Backend]:
    """The backends the server may run, as far as is known."""
    if server.backend != AUTO:
        return frozenset({Backend(server.backend)})
    now = time.monotonic()
    until, kept = _known.get(server.name, (0.0, backends.ALL))
    if now < until:
        return kept
    row = ServerKnowledge.objects.filter(server=server.name).values_list("backends", flat=True)
    stored = row.first()
    found = backends.parse(stored) if stored else backends.ALL
    _known[server.name] = (now + KNOWN_SECONDS, found)
    return found


def capabilities(server: PymapServer) -> Capabilities:
    return backends.capabilities(candidates(server))


def learn(server: PymapServer, seen: frozenset[Backend]) -> Capabilities:
    """Narrow what is known by an observation; the capabilities that follow.

    A configured backend is never overridden by what the panel sees.
    """
    if server.backend != AUTO or not seen or seen == backends.ALL:
        return capabilities(server)
    known = candidates(server)
    if backends.narrow(known, seen) == known:
        # Nothing new (nearly every answer once the backend is known): no
        # write transaction, which on SQLite would take the database's one
        # write lock on every page that reads a user.
        return backends.capabilities(known)
    with transaction.atomic():
        row = ServerKnowledge.objects.select_for_update().filter(server=server.name).first()
        known = backends.parse(row.backends) if row is not None else backends.ALL
        narrowed = backends.narrow(known, seen)
        if row is None:
            ServerKnowledge.objects.create(
                server=server.name, backends=backends.serialize(narrowed)
            )
        elif narrowed != known:
            row.backends = backends.serialize(narrowed)
            row.save(update_fields=["backends", "updated_at"])
    _known[server.name] = (time.monotonic() + KNOWN_SECONDS, narrowed)
    return backends.capabilities(narrowed)
