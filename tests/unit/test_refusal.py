"""lib/refusal.py: one refusal's message, status, field and headers on a page."""

from __future__ import annotations

import pytest
from django import forms
from django.http import HttpResponse

from adminpanel.accounts.throttle import SignInThrottled
from adminpanel.lib.refusal import Refusal, add_to_form, with_refusal
from adminpanel.pymap.errors import Refused, ServerTimeout
from adminpanel.users.actions import AlreadyExists, WrongPassword


class NameForm(forms.Form):
    name = forms.CharField()


def test_a_subclass_gives_defaults_and_one_refusal_may_override_them() -> None:
    assert (AlreadyExists().status, AlreadyExists().field) == (409, "name")
    refusal = Refusal("No.", status=410, field="x", headers={"A": "b"})
    assert (refusal.message, refusal.status, refusal.field, refusal.headers) == (
        "No.",
        410,
        "x",
        {"A": "b"},
    )
    assert str(refusal) == "No."
    assert refusal.outcome == "Refusal"


def test_pymaps_errors_are_refusals_and_keep_the_servers_key() -> None:
    refused = Refused("UserNotFound", "GetUser NO [NONEXISTENT] User not found.")
    assert isinstance(refused, Refusal)
    assert (refused.status, refused.outcome, refused.message) == (
        404,
        "UserNotFound",
        "No such user.",
    )
    assert ServerTimeout("slow").status == 504
    assert Refused("SomethingNew", "").status == 422


def test_the_message_goes_on_its_field_or_on_the_form() -> None:
    form = NameForm({"name": "x"})
    assert form.is_valid()
    add_to_form(form, AlreadyExists())
    assert form.errors["name"] == [AlreadyExists.message]
    other = NameForm({"name": "x"})
    other.is_valid()
    add_to_form(other, WrongPassword())  # no current_password field here
    assert other.non_field_errors() == [WrongPassword.message]


@pytest.mark.parametrize(("seconds", "words"), [(60, "1 minute."), (61, "2 minutes.")])
def test_a_throttled_sign_in_is_a_429_with_retry_after(seconds: int, words: str) -> None:
    throttled = SignInThrottled(seconds)
    assert throttled.message.endswith(f"Try again in {words}")
    response = with_refusal(HttpResponse("the form again"), throttled)
    assert response.status_code == 429
    assert response["Retry-After"] == str(seconds)
