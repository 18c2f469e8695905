"""Forms of the second-factor pages: they only validate."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxLengthValidator

from adminpanel.accounts.identity import IdentityKind
from adminpanel.lib.validators import validate_user_name

from .models import Factor

#: Longest passkey answer accepted (a few kilobytes in practice).
MAX_PASSKEY_RESPONSE = 64 * 1024


def _factor_name() -> forms.CharField:
    return forms.CharField(
        label="Name",
        help_text="To tell your factors apart, e.g. “phone” or “desk key”.",
        validators=[MaxLengthValidator(Factor._meta.get_field("name").max_length or 100)],
        error_messages={"required": "Give the factor a name."},
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        help_text="The 6 digits your authenticator app shows, or one of your recovery codes.",
        validators=[MaxLengthValidator(64)],
        error_messages={"required": "Enter the code."},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )


class PasskeyAnswerForm(forms.Form):
    """What static/panel/passkey.js puts in the page's hidden field."""

    credential = forms.CharField(
        widget=forms.HiddenInput,
        validators=[MaxLengthValidator(MAX_PASSKEY_RESPONSE)],
        error_messages={"required": "Your browser gave no answer from a passkey."},
    )


class TotpEnrolForm(forms.Form):
    name = _factor_name()
    code = forms.CharField(
        label="Code from the app",
        help_text="The 6 digits the app shows once it has the secret.",
        validators=[MaxLengthValidator(64)],
        error_messages={"required": "Enter the code the app shows."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class PasskeyEnrolForm(PasskeyAnswerForm):
    name = _factor_name()
    field_order = ["name", "credential"]


class RemoveOthersForm(forms.Form):
    """An admin removes every factor of one identity on this server."""

    kind = forms.ChoiceField(
        choices=[(IdentityKind.USER, "User"), (IdentityKind.ADMIN_TOKEN, "Admin token")],
        widget=forms.HiddenInput,
    )
    name = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason",
        help_text="Kept in the audit log, e.g. “phone lost, confirmed by call”.",
        validators=[MaxLengthValidator(300)],
        error_messages={"required": "Say why the factors are removed."},
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        kind, name = data.get("kind"), data.get("name") or ""
        if kind == IdentityKind.USER:
            try:
                validate_user_name(name)
            except forms.ValidationError as exc:
                raise forms.ValidationError(exc.messages[0]) from exc
        elif kind == IdentityKind.ADMIN_TOKEN and name:
            raise forms.ValidationError("The admin token has no name.")
        return data
