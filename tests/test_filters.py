"""The operator's own Sieve filters over ManageSieve, against real pymap
servers: the rule builder's "spam into Junk" active per a raw ManageSieve
session and applied by Append ("Try it", read back over IMAP), the editor's
CHECKSCRIPT refusal that leaves the active script as it was, audit records,
and the backends' limits said before a password is asked for."""

from __future__ import annotations

import imaplib
import logging
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from adminpanel.audit.models import AuditEvent
from adminpanel.pymap.servers import PymapServer
from adminpanel.sieve import rules
from devtools.pymap_process import PymapProcess

from .support.mail_access import open_access, sieve_as, with_mail_services
from .support.pymap_users import MakeUser, PymapUser
from .support.users import page, sign_in, user_url

pytestmark = pytest.mark.django_db

SPAM = "From: spammer@example.org\nTo: x@example.org\nSubject: Cheap\nX-Spam-Flag: YES\n\nBuy.\n"


@pytest.fixture
def mail_server(pymap: PymapProcess, settings: Settings) -> PymapServer:
    server = with_mail_services(pymap)
    settings.PYMAP_SERVER = server
    return server


def _own(client: Client, pymap_user: MakeUser) -> PymapUser:
    """An admin-role operator on its own user page, mail access open."""
    own = pymap_user("filterer", roles=["admin"])
    sign_in(client, own)
    open_access(client, own, own.name)
    return own


def _spam_rule_post(script: str = "rules") -> dict[str, str]:
    return {
        "rule-TOTAL_FORMS": "1",
        "rule-INITIAL_FORMS": "0",
        "rule-MIN_NUM_FORMS": "0",
        "rule-MAX_NUM_FORMS": "20",
        "rule-0-test": "header",
        "rule-0-field": "X-Spam-Flag",
        "rule-0-match": "is",
        "rule-0-value": "YES",
        "rule-0-action": "fileinto",
        "rule-0-argument": "Junk",
        "script_name": script,
        "activate": "on",
    }


@pytest.mark.backends("dict", "redis")
def test_spam_into_junk_from_the_rule_builder_is_active_and_try_it_lands_in_junk(
    client: Client,
    mail_server: PymapServer,
    pymap: PymapProcess,
    pymap_user: MakeUser,
    imap_client: Callable[..., imaplib.IMAP4],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    own = _own(client, pymap_user)
    imap = imap_client(own.name, own.password)
    imap.create("Junk")

    builder = client.get(user_url("filters:rules", own.name))
    assert builder.status_code == 200
    assert "Rule 1" in page(builder)
    saved = client.post(user_url("filters:rules", own.name), _spam_rule_post())
    assert saved.status_code == 302, page(saved)[:3000]

    with sieve_as(pymap, own) as sieve:
        active, _others = sieve.listscripts()
        assert active == "rules"
        script = sieve.getscript("rules")
    assert 'if header :is "X-Spam-Flag" "YES" {\n    fileinto "Junk";' in script
    assert rules.read(script) == [
        rules.Rule("header", "X-Spam-Flag", "is", "YES", "fileinto", "Junk")
    ]
    # The builder reads back what it wrote.
    again = page(client.get(user_url("filters:rules", own.name) + "&script=rules"))
    assert 'value="X-Spam-Flag"' in again
    assert 'value="Junk"' in again

    tried = client.post(user_url("filters:try", own.name), {"message": SPAM})
    assert tried.status_code == 200
    assert 'class="landed-in">Junk<' in page(tried)
    assert "IMAP shows it there" in page(tried)
    imap.select("Junk", readonly=True)
    found = imap.search(None, "HEADER", "Subject", "Cheap")[1][0].split()
    assert len(found) == 1
    imap.select("INBOX", readonly=True)
    assert imap.search(None, "HEADER", "Subject", "Cheap")[1][0].split() == []

    actions = list(AuditEvent.objects.order_by("created_at").values_list("action", "outcome"))
    assert ("filter-save", "ok") in actions
    assert ("message-deliver", "ok") in actions
    assert own.password not in caplog.text


@pytest.mark.backends("dict", "redis")
def test_a_script_with_a_syntax_error_is_refused_with_the_servers_words_and_changes_nothing(
    client: Client, mail_server: PymapServer, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    own = _own(client, pymap_user)
    assert client.post(user_url("filters:rules", own.name), _spam_rule_post()).status_code == 302
    with sieve_as(pymap, own) as sieve:
        before = sieve.getscript("rules")

    broken = 'require ["fileinto"];\nif header :is "X" "Y" {\n  fileinto "Junk"\n}\n'
    response = client.post(
        user_url("filters:edit", own.name),
        {"script_name": "rules", "content": broken, "activate": "on"},
    )
    assert response.status_code == 422
    html = page(response)
    assert "line 4: parsing error" in html
    assert "at line 4" in html
    assert "Line 4: <code>}</code>" in html
    with sieve_as(pymap, own) as sieve:
        active, _others = sieve.listscripts()
        assert (active, sieve.getscript("rules")) == ("rules", before)
    event = AuditEvent.objects.filter(action="filter-save").latest("created_at")
    assert event.outcome == "ScriptInvalid"


@pytest.mark.backends("dict", "redis")
def test_the_editor_saves_activates_and_deletes_seen_over_managesieve(
    client: Client, mail_server: PymapServer, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    own = _own(client, pymap_user)
    saved = client.post(
        user_url("filters:edit", own.name),
        {"script_name": "plain", "content": "keep;\n"},
    )
    assert saved.status_code == 302
    with sieve_as(pymap, own) as sieve:
        assert sieve.listscripts() == (None, ["plain"])
    listing = page(client.get(user_url("filters:list", own.name)))
    assert "plain" in listing
    assert "Inactive" in listing
    assert (
        client.post(user_url("filters:activate", own.name), {"script": "plain"}).status_code == 302
    )
    with sieve_as(pymap, own) as sieve:
        assert sieve.listscripts()[0] == "plain"
    # Not the builder's: the builder sends the operator to the editor.
    assert client.get(user_url("filters:rules", own.name) + "&script=plain").status_code == 302
    assert client.post(user_url("filters:activate", own.name), {"script": ""}).status_code == 302
    delete_url = f"{reverse('filters:delete')}?{urlencode({'name': own.name, 'script': 'plain'})}"
    assert client.get(delete_url).status_code == 200
    assert client.post(delete_url).status_code == 302
    with sieve_as(pymap, own) as sieve:
        assert sieve.listscripts() == (None, [])
    assert list(
        AuditEvent.objects.filter(action__startswith="filter-")
        .order_by("created_at")
        .values_list("action", "outcome")
    ) == [
        ("filter-save", "ok"),
        ("filter-activate", "ok"),
        ("filter-activate", "ok"),
        ("filter-delete", "ok"),
    ]


@pytest.mark.backends("dict", "redis")
def test_another_users_filters_are_not_offered_because_managesieve_ignores_the_authzid(
    client: Client, mail_server: PymapServer, pymap_user: MakeUser
) -> None:
    own = pymap_user("filterer", roles=["admin"])
    sign_in(client, own)
    other = pymap_user("other")
    response = client.get(user_url("filters:list", other.name))
    assert response.status_code == 403
    assert "ignores the authorization identity" in page(response)
    assert 'type="password"' not in page(response)


@pytest.mark.backends("maildir")
def test_maildir_says_its_managesieve_keeps_no_script(
    client: Client, mail_server: PymapServer, pymap_user: MakeUser
) -> None:
    own = pymap_user("filterer")
    sign_in(client, own)
    response = client.get(user_url("filters:list", own.name))
    assert response.status_code == 403
    assert "keeps nothing" in page(response)
