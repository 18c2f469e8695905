from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.html import format_html

from adminpanel.lib.form_fields import VisibleTextField
from adminpanel.lib.saslprep import validate_login_name, validate_saslprep


class SignInForm(forms.Form):
    """User name and password, or a pasted token; optionally act as a user."""

    # Names of the two sign-in methods, not credentials.
    METHOD_PASSWORD = "password"  # noqa: S105
    METHOD_TOKEN = "token"  # noqa: S105

    method = forms.ChoiceField(
        label="Sign in with",
        choices=[(METHOD_PASSWORD, "User name and password"), (METHOD_TOKEN, "Token")],
        initial=METHOD_PASSWORD,
        widget=forms.RadioSelect,
    )
    username = VisibleTextField(
        label="User name",
        validators=[validate_login_name],
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        # Validators, not max_length: no maxlength for a browser to cut a
        # pasted secret at silently.
        validators=[MaxLengthValidator(1024)],
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    token = forms.CharField(
        label="Token",
        required=False,
        validators=[MaxLengthValidator(8192)],
        help_text=format_html(
            "The admin token pymap prints at start-up (<code>{}</code>), or a token "
            "from <code>{}</code>.",
            "PYMAP_ADMIN_TOKEN=…",
            "pymap-admin login",
        ),
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    act_as = VisibleTextField(
        label="Work as another user (optional)",
        validators=[validate_login_name],
        help_text="Leave empty to work as yourself. With the admin role (or the admin token) "
        "you can sign in as yourself and work as this user, with only their rights: to see "
        "what they see, or to check what they may do. The audit log names you both.",
        widget=forms.TextInput(attrs={"autocapitalize": "none"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("method") == self.METHOD_TOKEN:
            if not data.get("token", "").strip():
                self.add_error("token", "Paste a token.")
        elif self.errors.get("username") is None:
            if not data.get("username"):
                self.add_error("username", "Enter a user name.")
            if not data.get("password"):
                self.add_error("password", "Enter the password.")
            else:
                try:
                    validate_saslprep(data["password"], what="The password")
                except ValidationError as exc:
                    self.add_error("password", exc)
        return data
