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

from django.db import transaction

from adminpanel.pymap import backends
from adminpanel.pymap.backends import AUTO, Backend, Capabilities
from adminpanel.pymap.servers import PymapServer

from .models import ServerKnowledge


def candidates(server: PymapServer) -> frozenset[Backend]:
    """The backends the server may run, as far as is known."""
    if server.backend != AUTO:
        return frozenset({Backend(server.backend)})
    row = ServerKnowledge.objects.filter(server=server.name).values_list("backends", flat=True)
    stored = row.first()
    return backends.parse(stored) if stored else backends.ALL


def capabilities(server: PymapServer) -> Capabilities:
    return backends.capabilities(candidates(server))


def learn(server: PymapServer, seen: frozenset[Backend]) -> Capabilities:
    """Narrow what is known by an observation; the capabilities that follow.

    A configured backend is never overridden by what the panel sees.
    """
    if server.backend != AUTO or not seen or seen == backends.ALL:
        return capabilities(server)
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
    return backends.capabilities(narrowed)
