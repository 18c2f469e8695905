"""Times in each operator's own zone: chosen once, kept for the identity,
active on every page (header, audit log, the audit's date filters)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.db.models import QuerySet
from django.test import Client

from adminpanel.audit.models import Action, AuditEvent
from adminpanel.preferences.models import TimeZoneChoice
from adminpanel.pymap.servers import PymapServer

from .support.panel_client import sign_in
from .support.pymap_users import MakeUser, PymapUser

pytestmark = pytest.mark.django_db

TIME_ZONE = "/preferences/time-zone/"


@pytest.fixture
def admin(client: Client, pymap_server: PymapServer, pymap_user: MakeUser) -> PymapUser:
    user = pymap_user(prefix="zoned", roles=["admin"])
    sign_in(client, user)
    return user


def _event_at(when: datetime, target: str) -> None:
    made = AuditEvent.objects.create(
        operator="x",
        action=Action.USER_EDIT,
        server=settings.PYMAP_SERVER.name,
        outcome="ok",
        target=target,
    )
    QuerySet.update(AuditEvent.objects.filter(pk=made.pk), created_at=when)


@pytest.mark.backends("dict", "redis")  # maildir: the admin role sees no others' events
def test_the_chosen_zone_shows_on_every_page_and_outlives_the_session(
    client: Client, admin: PymapUser
) -> None:
    _event_at(datetime(2021, 7, 1, 22, 30, tzinfo=UTC), "summer")
    page = client.get(TIME_ZONE).content.decode()
    assert '<option value="" selected>The panel&#x27;s zone (UTC)</option>' in page
    assert '<option value="Europe/Berlin">Europe/Berlin</option>' in page
    response = client.post(TIME_ZONE, {"time_zone": "Europe/Berlin", "next": "/audit/"})
    assert response.status_code == 302
    assert response["Location"] == "/audit/"
    audit = client.get("/audit/").content.decode()
    assert 'When <span class="zone">(Europe/Berlin)</span>' in audit
    assert 'title="2021-07-02 00:30:00 CEST"' in audit  # 22:30 UTC is the next day there
    assert "CET" in client.get("/").content.decode() or "CEST" in client.get("/").content.decode()
    # The date filters read days in that zone: July 2nd holds the event there.
    assert "summer" in client.get("/audit/?since=2021-07-02&until=2021-07-02").content.decode()
    assert "summer" not in client.get("/audit/?since=2021-07-01&until=2021-07-01").content.decode()

    # A new session of the same identity finds the choice again; another
    # identity does not.
    again = Client()
    sign_in(again, admin)
    assert "(Europe/Berlin)" in again.get("/audit/").content.decode()
    assert TimeZoneChoice.objects.get().zone == "Europe/Berlin"


def test_going_back_to_the_panels_zone_forgets_the_choice(client: Client, admin: PymapUser) -> None:
    client.post(TIME_ZONE, {"time_zone": "Asia/Tokyo"})
    assert "(Asia/Tokyo)" in client.get("/audit/").content.decode()
    response = client.post(TIME_ZONE, {"time_zone": ""}, follow=True)
    assert "Times are now shown in UTC." in response.content.decode()
    assert "(UTC)" in client.get("/audit/").content.decode()
    assert not TimeZoneChoice.objects.exists()


def test_another_identity_keeps_its_own_zone(
    client: Client, admin: PymapUser, pymap_user: MakeUser
) -> None:
    client.post(TIME_ZONE, {"time_zone": "America/New_York"})
    other = Client()
    sign_in(other, pymap_user(prefix="other"))
    assert "(UTC)" in other.get("/audit/").content.decode()


@pytest.mark.parametrize("value", ["Mars/Olympus", "../../etc/passwd", "UTC\r\nX: y"])
def test_an_unknown_zone_is_refused(client: Client, admin: PymapUser, value: str) -> None:
    response = client.post(TIME_ZONE, {"time_zone": value})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not TimeZoneChoice.objects.exists()


def test_next_must_be_a_local_path(client: Client, admin: PymapUser) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post(TIME_ZONE, {"time_zone": "", "next": target})
        assert response["Location"] == TIME_ZONE, target
