"""The create form: a new user's name, password (or none) and roles."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from adminpanel.lib.form_fields import VisibleTextField, text_input
from adminpanel.lib.saslprep import validate_login_name

from .. import backend_rules
from ..password_forms import NEW_PASSWORD_HELP, check_new_password, password_field
from .roles import RolesForm


class PasswordChoice:
    SET = "set"
    NONE = "none"


class CreateUserForm(RolesForm):
    name = VisibleTextField(
        label="User name",
        required=True,
        # SASLprep too: pymap would create the user, who could never log in.
        validators=[validate_login_name],
        help_text="Visible characters only: no spaces or line breaks, at most 255.",
        widget=text_input(autofocus="autofocus"),
    )
    password_choice = forms.ChoiceField(
        label="Can the user log in with a password?",
        choices=[
            (PasswordChoice.SET, "Yes: set a password"),
            (PasswordChoice.NONE, "No password: the user cannot log in"),
        ],
        initial=PasswordChoice.SET,
        widget=forms.RadioSelect,
    )
    password1 = password_field("New password", "new-password", help_text=NEW_PASSWORD_HELP)
    password2 = password_field("New password again", "new-password")

    field_order = ["name", "password_choice", "password1", "password2"]

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        problems = backend_rules.name_problems(self.caps, name)
        if problems:
            raise ValidationError(problems)
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password_choice") == PasswordChoice.SET:
            data["password"] = check_new_password(self, "password1", "password2")
        elif data.get("password_choice") == PasswordChoice.NONE:
            data["password"] = None
            if data.get("password1") or data.get("password2"):
                self.add_error(
                    "password1",
                    "You chose no password but typed one. Clear it, or choose to set a password.",
                )
        return data
