"""A second factor for operators (issue 14) against the real pymap, on every
backend: enrolment, the second step of sign-in (wrong, replayed, expired,
recovery codes), the policy, an admin removing factors, and the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from adminpanel.accounts.identity import IdentityKind
from adminpanel.accounts.models import FailedSignIn
from adminpanel.audit.models import Action, AuditEvent
from adminpanel.lib.sealing import Purpose, unseal
from adminpanel.pymap.servers import PymapServer
from adminpanel.twofactor.models import Factor, FailedSecondFactor, PendingSignIn, RecoveryCode

from .support.panel_client import SIGN_IN, session_operator, sign_in, signed_in_anywhere
from .support.pymap_users import MakeUser, PymapUser
from .support.twofactor import (
    FACTORS,
    OTHERS,
    RECOVERY_CODES,
    REMOVE_OTHERS,
    VERIFY,
    code_at,
    enrol_totp,
    page_text,
    password_sign_in,
)
from .support.users import signed_in_admin

pytestmark = pytest.mark.django_db


def _enrolled(pymap_user: MakeUser) -> tuple[PymapUser, str, list[str]]:
    """A user with an authenticator app: the user, the secret, the recovery codes."""
    user = pymap_user("tf")
    client = Client()
    sign_in(client, user)
    secret, codes = enrol_totp(client)
    return user, secret, codes


def _pending(client: Client, user: PymapUser) -> None:
    response = password_sign_in(client, user.name, user.password)
    assert response.status_code == 302
    assert response["Location"] == VERIFY


def _actions(name: str) -> list[tuple[str, str]]:
    rows = AuditEvent.objects.filter(identity_name=name).order_by("created_at", "id")
    return [(row.action, row.outcome) for row in rows]


def test_enrolment_shows_ten_recovery_codes_once_and_keeps_the_secret_sealed(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user, secret, codes = _enrolled(pymap_user)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    factor = Factor.objects.get(identity_name=user.name)
    assert factor.server == pymap_server.name
    assert factor.kind == Factor.Kind.TOTP
    assert secret.encode() not in bytes(factor.sealed_secret)
    stored = RecoveryCode.objects.filter(identity_name=user.name)
    assert stored.count() == 10
    for row in stored:
        assert all(code.replace("-", "").encode() not in bytes(row.digest) for code in codes)
    assert (Action.FACTOR_ADD, "ok") in _actions(user.name)


def test_sign_in_waits_for_the_code_and_holds_no_token_until_then(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user, secret, _ = _enrolled(pymap_user)
    client = Client()
    _pending(client, user)
    assert not signed_in_anywhere(client.session)
    assert client.get("/").status_code == 302  # nothing is signed in yet
    waiting = PendingSignIn.objects.get(identity_name=user.name)
    assert waiting.expires_at - waiting.created_at == timedelta(minutes=5)
    page = client.get(VERIFY)
    assert page.status_code == 200
    assert "authenticator app" in page_text(page)
    sealed = bytes(waiting.sealed_operator)
    done = client.post(VERIFY, {"code": code_at(secret, 1)})
    assert done.status_code == 302
    assert done["Location"] == "/"
    assert client.get("/").status_code == 200
    operator = session_operator(client)
    assert operator.name == user.name
    assert operator.token.encode() not in sealed  # it waited sealed
    assert not PendingSignIn.objects.filter(identity_name=user.name).exists()
    event = AuditEvent.objects.filter(identity_name=user.name, action=Action.SIGN_IN).first()
    assert event is not None
    assert event.detail == "second factor: authenticator app"


def test_a_wrong_code_is_refused_counted_and_audited(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user, secret, _ = _enrolled(pymap_user)
    client = Client()
    _pending(client, user)
    wrong = "000000" if code_at(secret, 1) != "000000" else "111111"
    refused = client.post(VERIFY, {"code": wrong})
    assert refused.status_code == 200
    assert "That code was not accepted." in page_text(refused)
    assert not signed_in_anywhere(client.session)
    # Counted by the second factor's own limits, not the sign-in counters.
    assert FailedSignIn.objects.filter(user_name=user.name).count() == 0
    assert FailedSecondFactor.objects.filter(identity_name=user.name).count() == 1
    assert (Action.SECOND_FACTOR_FAIL, "WrongCode") in _actions(user.name)
    assert client.post(VERIFY, {"code": code_at(secret, 1)}).status_code == 302
    assert client.get("/").status_code == 200


def test_a_code_is_accepted_once(pymap_server: PymapServer, pymap_user: MakeUser) -> None:
    user, secret, _ = _enrolled(pymap_user)
    code = code_at(secret, 1)
    first = Client()
    _pending(first, user)
    assert first.post(VERIFY, {"code": code}).status_code == 302
    second = Client()
    _pending(second, user)
    replayed = second.post(VERIFY, {"code": code})
    assert "That code was not accepted." in page_text(replayed)
    assert not signed_in_anywhere(second.session)
    # The code used to enrol cannot sign in either: its step was taken.
    enrolment_code = second.post(VERIFY, {"code": code_at(secret)})
    assert "That code was not accepted." in page_text(enrolment_code)


def _wrong(secret: str) -> str:
    right = {code_at(secret, step) for step in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in right)


def test_wrong_codes_end_the_pending_sign_in_after_its_tries(
    pymap_server: PymapServer, pymap_user: MakeUser, settings: SettingsWrapper
) -> None:
    user, secret, _ = _enrolled(pymap_user)
    settings.PANEL_SECOND_FACTOR_TRIES = 3
    client = Client()
    _pending(client, user)
    for _ in range(2):
        assert client.post(VERIFY, {"code": _wrong(secret)}).status_code == 200
    last = client.post(VERIFY, {"code": _wrong(secret)})
    assert (last.status_code, last["Location"]) == (302, SIGN_IN)
    assert "this sign-in has had its tries" in page_text(client.get(SIGN_IN))
    assert not PendingSignIn.objects.filter(identity_name=user.name).exists()
    # Even the right code no longer completes it: the password comes first.
    assert client.post(VERIFY, {"code": code_at(secret, 1)})["Location"] == SIGN_IN
    assert not signed_in_anywhere(client.session)
    _pending(client, user)
    assert client.post(VERIFY, {"code": code_at(secret, 1)}).status_code == 302
    assert client.get("/").status_code == 200
    assert [o for a, o in _actions(user.name) if a == Action.SECOND_FACTOR_FAIL] == [
        "WrongCode"
    ] * 3


def test_wrong_codes_are_bounded_per_day_apart_from_the_sign_in_limits(
    pymap_server: PymapServer, pymap_user: MakeUser, settings: SettingsWrapper
) -> None:
    user, secret, _ = _enrolled(pymap_user)
    other, other_secret, _ = _enrolled(pymap_user)
    settings.PANEL_SECOND_FACTOR_TRIES = 3
    settings.PANEL_SECOND_FACTOR_CODES_PER_DAY = 4
    # Low sign-in limits, which wrong codes once filled, locking the user out.
    settings.PANEL_SIGN_IN_LIMIT_PER_USER_ADDRESS = 2
    settings.PANEL_SIGN_IN_LIMIT_PER_ADDRESS = 2
    client = Client()
    for _ in range(2):  # two pending sign-ins: the day's count runs on across them
        _pending(client, user)
        for _ in range(2):
            assert client.post(VERIFY, {"code": _wrong(secret)}).status_code == 200
    assert FailedSignIn.objects.count() == 0  # the sign-in counters saw none of them
    _pending(client, user)  # the password still reaches the second step
    throttled = client.post(VERIFY, {"code": code_at(secret, 1)})
    assert throttled.status_code == 429
    assert "Too many wrong codes for this account today" in page_text(throttled)
    assert 86_400 - 120 < int(throttled["Retry-After"]) <= 86_400
    assert not signed_in_anywhere(client.session)
    assert (Action.SECOND_FACTOR_FAIL, "Throttled") in _actions(user.name)
    # Another identity, from the same address, is not held back.
    elsewhere = Client()
    _pending(elsewhere, other)
    assert elsewhere.post(VERIFY, {"code": code_at(other_secret, 1)}).status_code == 302
    assert elsewhere.get("/").status_code == 200


def test_an_expired_pending_sign_in_is_discarded(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user, secret, _ = _enrolled(pymap_user)
    client = Client()
    _pending(client, user)
    PendingSignIn.objects.filter(identity_name=user.name).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    late = client.post(VERIFY, {"code": code_at(secret, 1)})
    assert late.status_code == 302
    assert late["Location"] == SIGN_IN
    assert "took too long" in page_text(client.get(SIGN_IN))
    assert not PendingSignIn.objects.filter(identity_name=user.name).exists()
    assert not signed_in_anywhere(client.session)
    # Nothing waits any more: the page sends the browser to sign in.
    assert client.get(VERIFY)["Location"] == SIGN_IN


def test_a_recovery_code_works_once(pymap_server: PymapServer, pymap_user: MakeUser) -> None:
    user, _, codes = _enrolled(pymap_user)
    first = Client()
    _pending(first, user)
    assert first.post(VERIFY, {"code": codes[3].upper().replace("-", " ")}).status_code == 302
    assert first.get("/").status_code == 200
    assert (Action.RECOVERY_CODE_USE, "ok") in _actions(user.name)
    assert "9 of 10 unused" in page_text(first.get(FACTORS))
    again = Client()
    _pending(again, user)
    assert "That code was not accepted." in page_text(again.post(VERIFY, {"code": codes[3]}))
    assert again.post(VERIFY, {"code": codes[4]}).status_code == 302


def test_new_recovery_codes_replace_the_old(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user, _, old = _enrolled(pymap_user)
    client = Client()
    _pending(client, user)
    assert client.post(VERIFY, {"code": old[0]}).status_code == 302
    shown = client.post(RECOVERY_CODES)
    assert shown.status_code == 200
    new = [code for code in old if code in page_text(shown)]
    assert new == []
    other = Client()
    _pending(other, user)
    assert "That code was not accepted." in page_text(other.post(VERIFY, {"code": old[1]}))


def test_policy_everyone_leads_to_enrolment_before_any_other_page(
    pymap_server: PymapServer, pymap_user: MakeUser, settings: SettingsWrapper
) -> None:
    settings.PANEL_REQUIRE_SECOND_FACTOR = "everyone"
    user = pymap_user("tf")
    client = Client()
    sign_in(client, user)
    for url in ("/", "/users/", "/audit/", "/mail/deliver/"):
        assert client.get(url)["Location"] == FACTORS, url
    assert client.post("/mail/deliver/", {})["Location"] == FACTORS
    assert "no other page opens before" in page_text(client.get(FACTORS))
    enrol_totp(client)
    assert client.get("/").status_code == 200
    # The last factor stays while the policy requires one.
    factor = Factor.objects.get(identity_name=user.name)
    client.post(f"{FACTORS}{factor.pk}/remove/")
    assert Factor.objects.filter(pk=factor.pk).exists()
    assert "add another before removing this one" in page_text(client.get(FACTORS))


def test_policy_admins_leaves_other_operators_alone(
    pymap_server: PymapServer, pymap_user: MakeUser, settings: SettingsWrapper
) -> None:
    settings.PANEL_REQUIRE_SECOND_FACTOR = "admins"
    plain = Client()
    sign_in(plain, pymap_user("tf"))
    assert plain.get("/").status_code == 200
    admin = Client()
    signed_in_admin(admin, pymap_user)
    assert admin.get("/")["Location"] == FACTORS


def test_removing_ones_own_factor_is_audited_and_the_codes_go_with_the_last(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user("tf")
    client = Client()
    sign_in(client, user)
    enrol_totp(client)
    factor = Factor.objects.get(identity_name=user.name)
    assert client.post(f"{FACTORS}{factor.pk}/remove/").status_code == 302
    assert not Factor.objects.filter(identity_name=user.name).exists()
    assert not RecoveryCode.objects.filter(identity_name=user.name).exists()
    assert (Action.FACTOR_REMOVE, "ok") in _actions(user.name)
    # Another operator's factor cannot be removed by its number.
    other, _, _ = _enrolled(pymap_user)
    theirs = Factor.objects.get(identity_name=other.name)
    assert client.post(f"{FACTORS}{theirs.pk}/remove/").status_code == 404
    assert Factor.objects.filter(pk=theirs.pk).exists()


def test_an_admin_removes_another_operators_factors_with_a_reason(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user, _, _ = _enrolled(pymap_user)
    admin = Client()
    admin_label = signed_in_admin(admin, pymap_user)
    listed = page_text(admin.get(OTHERS))
    assert user.name in listed
    data = {"kind": IdentityKind.USER, "name": user.name}
    assert admin.post(REMOVE_OTHERS, {**data, "reason": ""}).status_code == 400
    assert Factor.objects.filter(identity_name=user.name).exists()
    removed = admin.post(REMOVE_OTHERS, {**data, "reason": "phone lost"})
    assert removed.status_code == 302
    assert not Factor.objects.filter(identity_name=user.name).exists()
    assert not RecoveryCode.objects.filter(identity_name=user.name).exists()
    event = AuditEvent.objects.filter(action=Action.FACTOR_REMOVE, target=user.name).get()
    assert event.operator == admin_label
    assert "phone lost" in event.detail
    # The operator signs in with the password alone again.
    client = Client()
    sign_in(client, user)
    assert client.get("/").status_code == 200


def test_an_operator_without_rights_over_others_cannot_remove_their_factors(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user, _, _ = _enrolled(pymap_user)
    plain = Client()
    sign_in(plain, pymap_user("tf"))
    assert plain.get(OTHERS).status_code == 403
    refused = plain.post(
        REMOVE_OTHERS, {"kind": IdentityKind.USER, "name": user.name, "reason": "mine now"}
    )
    assert refused.status_code == 403
    assert Factor.objects.filter(identity_name=user.name).exists()


def test_the_admin_token_has_factors_of_its_own(
    pymap_server: PymapServer, admin_token: str
) -> None:
    client = Client()
    assert client.post(SIGN_IN, {"method": "token", "token": admin_token}).status_code == 302
    secret, codes = enrol_totp(client, name="vault")
    assert len(codes) == 10
    factor = Factor.objects.get(server=pymap_server.name, identity_kind=IdentityKind.ADMIN_TOKEN)
    assert factor.identity_name == ""
    again = Client()
    response = again.post(SIGN_IN, {"method": "token", "token": admin_token})
    assert response["Location"] == VERIFY
    assert again.post(VERIFY, {"code": code_at(secret, 1)}).status_code == 302
    assert session_operator(again).admin_token


def test_admin_token_sign_in_can_be_turned_off(
    pymap_server: PymapServer, admin_token: str, settings: SettingsWrapper
) -> None:
    settings.PANEL_ALLOW_ADMIN_TOKEN_SIGN_IN = False
    client = Client()
    refused = client.post(SIGN_IN, {"method": "token", "token": admin_token})
    assert refused.status_code == 403
    assert "turned off" in page_text(refused)
    assert not signed_in_anywhere(client.session)
    event = AuditEvent.objects.filter(action=Action.SIGN_IN).first()
    assert event is not None
    assert event.outcome == "AdminTokenSignInOff"


def test_cancelling_the_second_step_deletes_the_waiting_sign_in(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user, secret, _ = _enrolled(pymap_user)
    client = Client()
    _pending(client, user)
    assert "Cancel the sign-in" in page_text(client.get(VERIFY))
    cancelled = client.post(VERIFY + "cancel/")
    assert cancelled["Location"] == SIGN_IN
    assert not PendingSignIn.objects.filter(identity_name=user.name).exists()
    assert client.post(VERIFY, {"code": code_at(secret, 1)})["Location"] == SIGN_IN
    assert not signed_in_anywhere(client.session)


def test_an_app_enrolled_before_a_key_rotation_still_verifies_after_it(
    pymap_server: PymapServer, pymap_user: MakeUser, settings: SettingsWrapper
) -> None:
    """With the old key in SECRET_KEY_FALLBACKS (DJANGO_SECRET_KEY_FALLBACKS),
    the app's sealed secret still opens; without it the code cannot be checked."""
    old_key, new_key = settings.SECRET_KEY, "rotated-" + "k" * 50
    user, secret, _ = _enrolled(pymap_user)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = new_key, [old_key]
    rotated = Client()
    _pending(rotated, user)
    assert rotated.post(VERIFY, {"code": code_at(secret, 1)}).status_code == 302
    assert rotated.get("/").status_code == 200
    # The code it verified sealed the secret again with the new key: the
    # fallback is no longer needed for this app.
    settings.SECRET_KEY_FALLBACKS = []
    factor = Factor.objects.get(identity_name=user.name, kind=Factor.Kind.TOTP)
    assert unseal(bytes(factor.sealed_secret), Purpose.TOTP_SECRET) == secret
    # An app sealed with a key that is gone verifies no code: refused, not a
    # server error. (Its last step is put back, so that only the key decides.)
    Factor.objects.filter(pk=factor.pk).update(last_step=0)
    settings.SECRET_KEY = "rotated-again-" + "j" * 50
    forgotten = Client()
    _pending(forgotten, user)
    refused = forgotten.post(VERIFY, {"code": code_at(secret, 1)})
    assert refused.status_code == 200
    assert "That code was not accepted." in page_text(refused)
    assert not signed_in_anywhere(forgotten.session)
