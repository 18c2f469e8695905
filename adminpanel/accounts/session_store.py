"""Django's database sessions, read with one prepared statement.

Every signed-in page loads its session first. Django's ``db`` store does it
with ``Session.objects.get(...)``: building the query, compiling it to SQL and
making a model instance cost three times the SELECT itself (0.3 of 0.45 ms a
page, docs/performance.md). This store sends the same SELECT (the key, and
not expired) as SQL written once, through the connection's cursor, so it is
still a query the query budgets count and the database's own adaptation of
the time applies. Saving, creating and deleting stay Django's.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone


class SessionStore(DatabaseSessionStore):
    def load(self) -> dict[str, Any]:
        key = self.session_key
        data = self._stored_data(key) if key is not None else None
        if data is None:
            # As Django's store does: a missing or expired session is a new one.
            self._session_key = None
            return {}
        return self.decode(data)

    def _stored_data(self, key: str) -> str | None:
        model = self.model
        connection = connections[router.db_for_read(model)]
        quote = connection.ops.quote_name
        sql = (
            # Only quoted identifiers of the model go in; the values are parameters.
            f"SELECT {quote('session_data')} FROM {quote(model._meta.db_table)} "  # noqa: S608
            f"WHERE {quote('session_key')} = %s AND {quote('expire_date')} > %s"
        )
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(sql, [key, now])
            row = cursor.fetchone()
        return None if row is None else str(row[0])
