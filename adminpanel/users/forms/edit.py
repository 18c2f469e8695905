"""The edit form: roles and what to do with the password, against the signed
version of the record the form was made from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError

from ..editable import PasswordAction
from ..password_forms import GENERATE_LABEL, NEW_PASSWORD_HELP, check_new_password, password_field
from ..password_generator import generate_password
from .roles import RolesForm

_BASE_SALT = "adminpanel.users.edit-base"
_BASE_KEYS = {"roles", "params", "has_password", "password_fingerprint"}


def sign_base(
    roles: Sequence[str],
    params: Mapping[str, str],
    has_password: bool,
    password_fingerprint: str,
) -> str:
    """The values an edit form was rendered from, for the hidden ``base`` field.

    Signed so that a conflict page proposes a merge from what the panel really
    showed, and so that on a backend without entity tags the save can tell
    whether the user changed meanwhile. The values are not secret (the operator
    sees them on the page; the fingerprint is a keyed digest of the hash).
    """
    return signing.dumps(
        {
            "roles": list(roles),
            "params": dict(params),
            "has_password": has_password,
            "password_fingerprint": password_fingerprint,
        },
        salt=_BASE_SALT,
        compress=True,
    )


def unsign_base(value: str) -> dict[str, Any] | None:
    """The values from :func:`sign_base`, or None if ``value`` was not signed by us."""
    try:
        base = signing.loads(value, salt=_BASE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(base, dict) or set(base) != _BASE_KEYS:
        return None
    return base


class EditUserForm(RolesForm):
    """Roles, params and what to do with the password, against the version of
    the record the form was made from (its entity tag and signed ``base``)."""

    entity_tag = forms.IntegerField(min_value=0, max_value=2**64 - 1, widget=forms.HiddenInput)
    # No max_length: a user may have 100 params of 4096 characters each; the
    # signature, not the size, is what makes the value trustworthy.
    base = forms.CharField(widget=forms.HiddenInput)
    password_action = forms.ChoiceField(
        label="What happens to the password", widget=forms.RadioSelect
    )
    current_password = password_field(
        "Current password",
        "off",
        help_text="Checked with a sign-in before anything is saved, so a typo cannot lock "
        "the user out.",
    )
    new_password1 = password_field("New password", "new-password", help_text=NEW_PASSWORD_HELP)
    new_password2 = password_field("New password again", "new-password")

    field_order = ["password_action", "current_password", "new_password1", "new_password2"]

    def __init__(self, *args: Any, has_password: bool, is_self: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_self = is_self
        self.has_password = has_password
        if has_password:
            choices = [
                (PasswordAction.KEEP, "Keep the current password (you enter it)"),
                (PasswordAction.GENERATE, GENERATE_LABEL),
                (PasswordAction.NEW, "Type a new password"),
                (PasswordAction.REMOVE, "Remove the password: the user can no longer log in"),
            ]
        else:
            choices = [
                (PasswordAction.REMOVE, "Leave without a password: the user cannot log in"),
                (PasswordAction.GENERATE, GENERATE_LABEL),
                (PasswordAction.NEW, "Type a password"),
            ]
        field = self.fields["password_action"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices
        field.initial = choices[0][0]
        self.offered_actions = [value for value, _ in choices]

    def offers(self, action: str) -> bool:
        return action in self.offered_actions

    def clean_base(self) -> dict[str, Any]:
        base = unsign_base(self.cleaned_data["base"])
        if base is None:
            raise ValidationError("This form was damaged in transit. Open the edit page again.")
        return base

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("password_action")
        if action == PasswordAction.KEEP:
            if not data.get("current_password"):
                self.add_error("current_password", "Enter the current password so it is kept.")
            data["password"] = data.get("current_password") or None
        elif action == PasswordAction.GENERATE:
            data["password"] = generate_password()
        elif action == PasswordAction.NEW:
            data["password"] = check_new_password(self, "new_password1", "new_password2")
        elif action == PasswordAction.REMOVE:
            data["password"] = None
            if self.is_self and self.has_password:
                self.add_error(
                    "password_action",
                    "You cannot remove your own password here: you would be signed out and "
                    "could not sign in again.",
                )
        return data
