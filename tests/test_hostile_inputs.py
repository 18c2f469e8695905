"""Hostile input through every form the panel renders (ASVS 5.1, 5.2, 5.3).

Forms are found, not listed: every URL from the resolver is fetched (signed
out and signed in as an admin-role operator), every form on the page is
parsed, and each of its fields in turn gets each hostile value while the
others keep what a browser would send. The answer must never be a 500; a
rejected value gets a clear form error (role="alert"), and whatever is shown
back is escaped.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.lib.saslprep import saslprep_refuses
from adminpanel.pymap import service
from adminpanel.pymap.errors import RefusalKey, Refused, ServerFault
from adminpanel.pymap.servers import PymapServer
from adminpanel.users.links import user_url
from devtools.html_forms import FormField, HtmlForm, forms_in

from .support.panel_urls import PanelUrl, panel_urls
from .support.pymap_users import MakeUser, PymapUser
from .support.users import params_post, signed_in_admin

pytestmark = pytest.mark.django_db

URLS = panel_urls()
SCRIPT = "<script>alert('hostile-probe')</script>"
SVG = '<svg onload="alert(1)">'
#: Text that must never come back unescaped.
MARKUP = (SCRIPT, SVG, "<svg onload")
HOSTILE_TEXT = {
    "CR/LF": "first\r\nX-Injected: header\r\n\r\nbody",
    "NUL": "nul\x00byte",
    "10,000 characters": "x" * 10_000,
    "script tag": SCRIPT,
    "svg onload": SVG,
    "quote breakout": "\"'><img src=x onerror=alert(1)>",
    "unicode controls": "\u202eevil\u200b\ufeff",
}
#: Bytes that are not UTF-8, sent raw in a form body.
NOT_UTF8 = b"\xff\xfe\xc3\x28\x80"
#: An upload that is not UTF-8, with a hostile file name.
TODAY = datetime.now(UTC).date().isoformat()
HOSTILE_FILE_NAME = "..\\../<script>x</script>\r\n.eml"


def _plausible(entry: FormField, sample: PymapUser) -> str:
    """A value a careful user could type, so the other fields pass validation
    and the hostile one is what the form has to deal with."""
    if entry.value or entry.kind in {"radio", "checkbox", "select", "hidden", "file"}:
        return entry.value
    return {
        "password": "Sample-Password-123",
        "email": "sample@example.invalid",
        "number": "1",
        "date": TODAY,
        "datetime-local": f"{TODAY}T12:00",
        "textarea": "Sample text.",
    }.get(entry.kind, sample.name)


def _baselines(form: HtmlForm, sample: PymapUser) -> Iterator[dict[str, str]]:
    """What a browser sends, once for each choice of each radio group (the
    sign-in form behaves differently per method)."""
    base = {name: _plausible(entry, sample) for name, entry in form.fields.items()}
    base = {name: value for name, value in base.items() if form.fields[name].kind != "file"}
    yield base
    for name, entry in form.fields.items():
        if entry.kind == "radio":
            for option in entry.options:
                if option != base.get(name):
                    yield {**base, name: option}


def _submit(client: Client, form: HtmlForm, data: dict[str, Any]) -> Any:
    path = urlsplit(form.action).path
    if form.method == "get":
        return client.get(path, data)
    # File fields not under test get a harmless file (a fresh one each time:
    # an upload is consumed by the request).
    files = {
        name: SimpleUploadedFile("sample.txt", b"Sample text.\n")
        for name, entry in form.fields.items()
        if entry.kind == "file" and name not in data
    }
    return client.post(path, {**data, **files})


def _submit_raw(client: Client, form: HtmlForm, data: dict[str, str], field: str) -> Any:
    """The form urlencoded by hand, with non-UTF-8 bytes in ``field``."""
    others = urlencode({k: v for k, v in data.items() if k != field})
    body = f"{others}&{quote_plus(field)}={quote_plus(NOT_UTF8)}"
    path = urlsplit(form.action).path
    if form.method == "get":
        return client.get(f"{path}?{body}")
    return client.generic("POST", path, body, "application/x-www-form-urlencoded")


def _check(response: Any, what: str) -> None:
    assert response.status_code < 500, what
    if response.get("Content-Type", "").startswith("text/html"):
        html = response.content.decode()
        for markup in MARKUP:
            assert markup not in html, what
        if 400 <= response.status_code < 500:
            assert 'role="alert"' in html, what


def _sweep_form(client: Client, form: HtmlForm, sample: PymapUser) -> int:
    """Every hostile value into every field; the number of requests made."""
    sent = 0
    for base in _baselines(form, sample):
        for name, entry in form.fields.items():
            if name == "csrfmiddlewaretoken":
                continue
            if entry.kind == "file":
                upload = SimpleUploadedFile(HOSTILE_FILE_NAME, NOT_UTF8 * 1000)
                _check(_submit(client, form, {**base, name: upload}), f"{name}: file")
                sent += 1
                continue
            for label, value in HOSTILE_TEXT.items():
                _check(_submit(client, form, {**base, name: value}), f"{name}: {label}")
                sent += 1
            if not form.multipart:
                _check(_submit_raw(client, form, base, name), f"{name}: non-UTF-8")
                sent += 1
    return sent


@pytest.fixture
def generous_limits(settings: DjangoSettings) -> None:
    """The sweep fails sign-ins on purpose; the throttle is tested elsewhere."""
    settings.PANEL_SIGN_IN_LIMIT_PER_USER_ADDRESS = 100_000
    settings.PANEL_SIGN_IN_LIMIT_PER_USER = 100_000
    settings.PANEL_SIGN_IN_LIMIT_PER_ADDRESS = 100_000


def _name(entry: PanelUrl) -> str:
    return entry.name


@pytest.mark.parametrize("entry", URLS, ids=_name)
def test_hostile_input_through_every_form_never_breaks_the_panel(
    entry: PanelUrl,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    generous_limits: None,
) -> None:
    sample = pymap_user(prefix="sample")
    operator = pymap_user(prefix="operator", roles=["admin"])
    url = entry.url(sample.name)
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    for signed_in in (False, True):
        page_client = Client()
        if signed_in:
            signed_in_admin(page_client, pymap_user, as_user=operator)
        page = page_client.get(url)
        if page.status_code != 200 or not page["Content-Type"].startswith("text/html"):
            continue
        for form in forms_in(page.content.decode(), f"http://testserver{url}"):
            if form.signature in seen:
                continue
            seen.add(form.signature)
            # Each form gets a fresh session: one that signs out or changes
            # the operator must not spoil the next.
            form_client = Client()
            if signed_in:
                signed_in_admin(form_client, pymap_user, as_user=operator)
            _sweep_form(form_client, form, sample)


def test_the_sweep_reaches_the_sign_in_form(
    pymap_server: PymapServer, pymap_user: MakeUser, generous_limits: None
) -> None:
    """The sweep is not vacuous: it finds the sign-in form and sends every
    hostile value into each of its fields, for both sign-in methods."""
    [form] = forms_in(Client().get("/accounts/sign-in/").content.decode(), "http://testserver/")
    assert set(form.fields) == {
        "csrfmiddlewaretoken",
        "next",
        "method",
        "username",
        "password",
        "token",
        "act_as",
    }
    sample = pymap_user(prefix="sample")
    fields = len(form.fields) - 1
    assert _sweep_form(Client(), form, sample) == 2 * fields * (len(HOSTILE_TEXT) + 1)


def _probe_form(client: Client, url: str) -> HtmlForm:
    [form] = forms_in(client.get(url).content.decode(), f"http://testserver{url}")
    return form


def test_the_sweep_sends_non_utf8_uploads_and_catches_a_careless_view(
    settings: DjangoSettings, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    settings.ROOT_URLCONF = "tests.support.sweep_probe_urls"
    client = Client(raise_request_exception=False)
    sample = pymap_user(prefix="sample")
    careful = _probe_form(client, "/careful/")
    assert careful.multipart
    assert careful.fields["message"].kind == "file"
    assert _sweep_form(client, careful, sample) == len(HOSTILE_TEXT) + 1
    with pytest.raises(AssertionError, match="message: file"):
        _sweep_form(client, _probe_form(client, "/careless/"), sample)


@pytest.mark.parametrize("field", ["username", "password", "act_as"])
@pytest.mark.parametrize("label", list(HOSTILE_TEXT))
def test_hostile_sign_in_values_get_a_clear_answer(
    client: Client, pymap_server: PymapServer, generous_limits: None, field: str, label: str
) -> None:
    data = {"method": "password", "username": "someone", "password": "Sample-1", field: label}
    data[field] = HOSTILE_TEXT[label]
    response = client.post("/accounts/sign-in/", data)
    html = response.content.decode()
    # Refused by the form (400, the field's error) or by pymap (200, the
    # generic refusal); either way announced, and markup comes back escaped.
    assert response.status_code in (200, 400)
    assert 'role="alert"' in html
    assert "was not accepted" in html or 'class="field-error"' in html
    for markup in MARKUP:
        assert markup not in html


# Characters pymap's SASLprep refuses: Login then fails with an internal
# server error instead of a refusal (measured on pymap 0.36.7).
SASLPREP_REFUSED = {
    "replacement character": "a\ufffdb",
    "private use": "a\ue000b",
    "non-character": "a\ufdd0b",
    "right-to-left override": "a\u202eb",
    "ideographic description": "a\u2ff0b",
    "tag character": "a\U000e0041b",
    "mixed direction": "\u05d0a",
}


@pytest.mark.parametrize("label", list(SASLPREP_REFUSED))
def test_what_pymap_cannot_prepare_is_refused_by_the_form(
    client: Client, pymap_server: PymapServer, label: str
) -> None:
    value = SASLPREP_REFUSED[label]
    as_name = client.post(
        "/accounts/sign-in/",
        {"method": "password", "username": f"user{value}", "password": "Sample-1"},
    )
    assert as_name.status_code == 400
    assert 'id="id_username_error"' in as_name.content.decode()
    as_password = client.post(
        "/accounts/sign-in/",
        {"method": "password", "username": "someone", "password": f"pass{value}"},
    )
    assert as_password.status_code == 400
    assert "The password contains characters the mail server cannot accept" in (
        as_password.content.decode()
    )


@pytest.mark.parametrize("label", list(SASLPREP_REFUSED))
def test_users_and_passwords_that_could_never_log_in_are_not_stored(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_token: str, label: str
) -> None:
    value = SASLPREP_REFUSED[label]
    signed_in_admin(client, pymap_user)
    name = f"user{value}"
    base = {"password_choice": "set", "other_roles": "", **params_post({}, extra_rows=1)}
    as_name = client.post(
        "/users/new/", {**base, "name": name, "password1": "Sample-12", "password2": "Sample-12"}
    )
    assert as_name.status_code == 400
    assert 'id="id_name_error"' in as_name.content.decode()  # control or SASLprep check
    password = f"pass-word{value}"
    as_password = client.post(
        "/users/new/", {**base, "name": "plain-name", "password1": password, "password2": password}
    )
    assert as_password.status_code == 400
    assert "The password contains characters the mail server cannot accept" in (
        as_password.content.decode()
    )
    existing = pymap_user()
    changed = client.post(
        user_url("users:password", existing.name),
        {"new_password1": password, "new_password2": password},
    )
    assert changed.status_code == 400
    assert "The password contains characters" in changed.content.decode()
    service.login(pymap_server, existing.name, password=existing.password)  # unchanged
    for never_created in (name, "plain-name"):
        with pytest.raises(Refused) as refused:
            service.get_user(pymap_server, admin_token, never_created)
        assert refused.value.is_(RefusalKey.USER_NOT_FOUND)


def test_what_pymap_can_prepare_still_reaches_it(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    # Mapped or normalised by SASLprep, so allowed: zero-width space,
    # ideographic space, a combining mark that NFKC replaces.
    user = pymap_user(password="p\u200bass\u3000w\u0340ord")
    response = client.post(
        "/accounts/sign-in/",
        {"method": "password", "username": user.name, "password": user.password},
    )
    assert response.status_code == 302


@pytest.mark.parametrize("label", list(SASLPREP_REFUSED))
def test_pymap_fails_internally_on_what_the_form_refuses(
    pymap_server: PymapServer, pymap_user: MakeUser, label: str
) -> None:
    """Why the form checks: these reach pymap as an internal error, not a
    refusal (a password only once the user exists: pymap prepares it when it
    compares). If pymap ever refuses them properly, this test says so."""
    value = SASLPREP_REFUSED[label]
    assert saslprep_refuses(value)
    existing = pymap_user()
    for name, password in ((f"user{value}", "Sample-1"), (existing.name, f"pass{value}")):
        with pytest.raises(ServerFault):
            service.login(pymap_server, name, password=password)
