"""With a servers file, the URL sweep again: every page under /s/<server>/,
protected per server, and every one-server URL sent to the default server."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.audit.models import AuditEvent

from .support import fake_pymap
from .support.fake_pymap import Recorder
from .support.panel_urls import PanelUrl, panel_urls

pytestmark = pytest.mark.django_db

PROTECTED = [entry for entry in panel_urls() if not entry.is_public]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch, settings: DjangoSettings) -> Recorder:
    """Two servers, both the recording fake (nothing should reach it)."""
    recorder = Recorder()
    fake = fake_pymap.install(monkeypatch, recorder)
    settings.PANEL_SERVERS = (replace(fake, name="one"), replace(fake, name="two"))
    return recorder


@pytest.mark.parametrize("entry", PROTECTED, ids=lambda entry: entry.name)
def test_every_url_is_per_server_and_needs_that_servers_sign_in(
    entry: PanelUrl, recorder: Recorder
) -> None:
    client = Client()
    url = entry.url()
    prefixed = "/s/two" + url
    got = client.get(prefixed)
    assert got.status_code == 302
    assert got["Location"] == f"/s/two/accounts/sign-in/?next={quote(prefixed, safe='')}"
    old = client.get(url)
    assert (old.status_code, old["Location"]) == (302, "/s/one" + url)
    posted = client.post(url, {"x": "y"})
    assert (posted.status_code, posted["Location"]) == (307, "/s/one" + url)
    assert client.get("/s/three" + url).status_code == 404
    assert recorder.requests == []
    assert not AuditEvent.objects.exists()
