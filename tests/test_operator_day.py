"""Issue 16 (points 1, 6, 7, 8): generated passwords shown once, plain words,
the recent list and the user's audit history, and forms that survive an
expired form or session. Against the real pymap of each backend."""

from __future__ import annotations

import logging
import re
import time
from html import unescape
from urllib.parse import urlencode

import pytest
from django.test import Client

from adminpanel.audit.models import AuditEvent
from adminpanel.pymap import service
from adminpanel.pymap.errors import Refused
from adminpanel.pymap.servers import PymapServer
from adminpanel.users.models import LastAction, RecentUser
from adminpanel.users.password_generator import ALPHABET, generate_password
from devtools.pymap_process import PymapProcess

from .support.panel_client import SIGN_IN, operator_entry, session_operator
from .support.pymap_users import MakeUser
from .support.stored import stored_user
from .support.users import edit_post, page, sign_in, signed_in_admin, user_url

pytestmark = pytest.mark.django_db

SHOWN = re.compile(r'<code id="shown-password" class="secret">([^<]+)</code>')


def shown_password(html: str) -> str:
    found = SHOWN.search(html)
    assert found is not None, html[:3000]
    return unescape(found[1])


def test_generated_passwords_are_long_random_and_free_of_look_alikes() -> None:
    made = {generate_password() for _ in range(200)}
    assert len(made) == 200
    for password in made:
        groups = password.split("-")
        assert [len(group) for group in groups] == [5, 5, 5, 5]
        assert set("".join(groups)) <= set(ALPHABET)
        assert not set("0o1li") & set(password)


def test_a_generated_password_is_shown_once_and_is_what_the_server_keeps(
    client: Client,
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("gen", roles=["editor"])
    form = page(client.get(user_url("users:password", target.name)))
    assert "Set a new password the panel generates" in form
    with caplog.at_level(logging.DEBUG):
        response = client.post(user_url("users:password", target.name), {"how": "generate"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = page(response)
    password = shown_password(html)
    assert "Shown only this once" in html
    assert f"The password of {target.name} was changed." in html
    # It signs in, the old one no longer does, and the roles stayed.
    assert service.login(pymap_server, target.name, password=password)
    with pytest.raises(Refused):
        service.login(pymap_server, target.name, password=target.password)
    record = stored_user(pymap, target.name)
    assert record is not None
    assert record.roles == {"editor"}
    # Nowhere else: not in the audit row, the log, or the next page.
    event = AuditEvent.objects.get(action="password-change", target=target.name)
    assert password not in str(event.__dict__)
    assert password not in caplog.text
    assert password not in page(client.get(user_url("users:detail", target.name)))


def test_a_typed_password_is_refused_when_generate_was_chosen(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("gen-typed")
    response = client.post(
        user_url("users:password", target.name),
        {"how": "generate", "new_password1": "typed anyway!", "new_password2": "typed anyway!"},
    )
    assert response.status_code == 400
    assert "You chose a generated password but typed one" in page(response)
    assert service.login(pymap_server, target.name, password=target.password)


@pytest.mark.backends("dict", "redis")  # maildir: params other than mailbox_path drop
def test_an_edit_with_a_generated_password_saves_and_shows_it_once(
    client: Client, pymap: PymapProcess, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("gen-edit")
    url = user_url("users:edit", target.name)
    form = page(client.get(url))
    # The password choice comes before the roles and params, with its reason.
    assert form.index("Password after this change") < form.index("Other roles")
    response = client.post(
        url, edit_post(form, roles=("editor",), params={"forward": "b@x"}, action="generate")
    )
    assert response.status_code == 200, page(response)[:3000]
    html = page(response)
    password = shown_password(html)
    assert (
        f"Saved {target.name}: changed the password, the roles and the parameter “forward”." in html
    )
    token = service.login(pymap_server, target.name, password=password)
    stored = service.get_user(pymap_server, token, target.name)
    assert (list(stored.roles), dict(stored.params)) == (["editor"], {"forward": "b@x"})
    event = AuditEvent.objects.get(action="user-edit", target=target.name, outcome="ok")
    assert password not in str(event.__dict__)


def test_the_user_page_says_an_edit_needs_a_password_and_links_to_the_audit_history(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("page")
    html = page(client.get(user_url("users:detail", target.name)))
    assert "Saving an edit needs the user's current password or a new one" in html
    assert 'aria-describedby="edit-needs-password"' in html
    history = f"/audit/?target={target.name}&amp;exact_target=on"
    assert f'href="{history}"' in html


def test_the_audit_history_of_a_user_is_that_user_only(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("hist")
    longer = pymap_user(name=f"{target.name}-other")
    for user in (target, longer):
        client.post(user_url("users:password", user.name), {"how": "generate"})
    exact = page(client.get("/audit/", {"target": target.name, "exact_target": "on"}))
    partial = page(client.get("/audit/", {"target": target.name}))
    assert "1 event<" in exact
    assert longer.name not in exact.split("events-heading")[1]
    assert "2 events<" in partial


def test_the_recent_list_keeps_created_over_viewed_and_marks_deleted_users(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    name = f"recent-{time.monotonic_ns()}"
    created = client.post(
        "/users/new/",
        {
            "name": name,
            "password_choice": "none",
            "params-TOTAL_FORMS": "0",
            "params-INITIAL_FORMS": "0",
        },
    )
    assert created.status_code == 302, page(created)[:2000]
    assert client.get(created["Location"]).status_code == 200  # the view after creating
    assert RecentUser.objects.get(name=name).last_action == LastAction.CREATED
    index = page(client.get("/users/"))
    assert "Created" in index
    assert 'list="recent-user-names"' in index
    assert f'<option value="{name}">' in index
    assert index.count('type="search"') == 1  # one search box: the header's
    assert client.post(user_url("users:delete", name)).status_code == 302
    assert RecentUser.objects.get(name=name).last_action == LastAction.DELETED
    index = page(client.get("/users/"))
    assert f'href="{user_url("users:detail", name)}"' not in index
    assert "deleted</span>" in index
    assert f'<option value="{name}">' not in index


def test_a_form_that_expired_offers_to_reload_it_and_a_missing_cookie_says_so(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("csrf")
    strict = Client(enforce_csrf_checks=True)
    strict.cookies["pymap_panel_session"] = client.cookies["pymap_panel_session"].value
    url = user_url("users:password", target.name)
    strict.cookies["csrftoken"] = "x" * 32
    expired = strict.post(
        url, {"csrfmiddlewaretoken": "y" * 32}, HTTP_REFERER=f"http://testserver{url}"
    )
    assert expired.status_code == 403
    html = page(expired)
    assert "The form had expired" in html
    assert f'href="{url.replace("&", "&amp;")}">Reload this form</a>' in html
    del strict.cookies["csrftoken"]
    no_cookie = strict.post(
        url, {"csrfmiddlewaretoken": "y" * 32}, HTTP_REFERER="https://evil.example/x"
    )
    html = page(no_cookie)
    assert "did not send the panel&#x27;s cookie for forms" in html
    assert 'href="https://evil.example' not in html  # only this site's pages
    assert f'href="{url}">Reload this form</a>' in html


def test_a_form_sent_after_the_session_ended_returns_to_it_after_signing_in(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user("ended")
    sign_in(client, user)
    url = user_url("users:password", user.name)
    session = client.session  # 31 minutes without activity
    entry = operator_entry(session)
    session[entry] = {**session[entry], "last_seen": time.time() - 31 * 60}
    session.save()
    posted = client.post(url, {"how": "generate"}, HTTP_REFERER=f"http://testserver{url}")
    assert posted.status_code == 302
    assert posted["Location"] == f"{SIGN_IN}?{urlencode({'next': url})}"
    html = page(client.get(posted["Location"]))
    assert "You were signed out after 30 minutes without activity." in html
    assert "What you sent was not saved: sign in again to return to the form." in html
    assert f'name="next" value="{url}"' in html
    response = client.post(
        SIGN_IN,
        {"method": "password", "username": user.name, "password": user.password, "next": url},
    )
    assert response["Location"] == url
    # Nothing was saved: the old password still signs in.
    assert service.login(pymap_server, user.name, password=user.password)


def test_a_next_to_another_site_is_ignored(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user("next")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post(
            SIGN_IN,
            {
                "method": "password",
                "username": user.name,
                "password": user.password,
                "next": target,
            },
        )
        assert response["Location"] == "/", target
        client.post("/accounts/sign-out/")


def test_a_form_sent_without_a_session_cookie_is_told_so(client: Client) -> None:
    client.get(SIGN_IN)
    posted = client.post("/users/password/?name=x", {"how": "generate"})
    assert posted["Location"] == f"{SIGN_IN}?next=%2Fusers%2Fpassword%2F%3Fname%3Dx"
    html = page(client.get(posted["Location"]))
    assert "your browser sent no session cookie" in html


def test_stay_signed_in_writes_the_activity_back(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    sign_in(client, pymap_user("alive"))
    before = session_operator(client).last_seen
    time.sleep(0.05)
    assert client.get("/accounts/keep-alive/").status_code == 405
    response = client.post("/accounts/keep-alive/")
    assert response.status_code == 204
    assert session_operator(client).last_seen > before
    html = page(client.get("/"))
    assert "data-idle-warning" in html
    assert 'data-idle-seconds="1800"' in html


def test_an_unreachable_server_is_named_not_located_before_sign_in(client: Client) -> None:
    """The settings' default server: a socket nothing listens on."""
    response = client.post(SIGN_IN, {"method": "password", "username": "a", "password": "b"})
    assert response.status_code == 503
    html = page(response)
    assert "is unreachable" in html
    assert "pymap-admin.sock" not in html


def test_the_sign_in_page_names_the_server_only_and_has_no_maxlength(
    client: Client, pymap_server: PymapServer
) -> None:
    html = page(client.get(SIGN_IN))
    assert "pymap-admin.sock" not in html
    assert "unix:" not in html
    assert "maxlength" not in html
    assert "<code>pymap-admin login</code>" in html
    assert "`" not in html
    assert "Work as another user (optional)" in html
