"""accounts/session_store.py: the prepared-statement read keeps every answer
of Django's database store: saved data back, nothing for a missing, expired
or malformed key, and one query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from adminpanel.accounts.session_store import SessionStore

pytestmark = pytest.mark.django_db


def _saved(data: dict[str, object]) -> str:
    store = SessionStore()
    store.update(data)
    store.create()
    assert store.session_key is not None
    return store.session_key


def test_saved_data_reads_back_in_one_query_as_django_reads_it() -> None:
    key = _saved({"operator": "ops@example.org", "n": 3, "nested": {"a": [1, 2]}})
    store = SessionStore(session_key=key)
    with CaptureQueriesContext(connection) as queries:
        data = store.load()
    assert len(queries) == 1
    assert data == DatabaseStore(session_key=key).load()
    assert data["operator"] == "ops@example.org"
    assert store.session_key == key


def test_a_missing_key_is_a_new_empty_session() -> None:
    store = SessionStore(session_key="k" * 32)
    assert store.load() == {}
    assert store.session_key is None


def test_an_expired_session_is_not_read() -> None:
    key = _saved({"operator": "ops@example.org"})
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    store = SessionStore(session_key=key)
    assert store.load() == {}
    assert store.session_key is None
    assert DatabaseStore(session_key=key).load() == {}


def test_a_session_about_to_expire_is_still_read() -> None:
    key = _saved({"operator": "ops@example.org"})
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + timedelta(seconds=30)
    )
    assert SessionStore(session_key=key).load() == {"operator": "ops@example.org"}


def test_a_tampered_session_row_is_empty_not_an_error() -> None:
    key = _saved({"operator": "ops@example.org"})
    Session.objects.filter(session_key=key).update(session_data="not:signed")
    assert SessionStore(session_key=key).load() == {}


def test_saving_after_a_load_keeps_the_row_and_its_changes() -> None:
    key = _saved({"operator": "ops@example.org"})
    store = SessionStore(session_key=key)
    store["seen"] = 1
    store.save()
    assert SessionStore(session_key=key).load() == {"operator": "ops@example.org", "seen": 1}
    assert Session.objects.filter(session_key=key).count() == 1
