"""The lookup form: the name of the user to open."""

from __future__ import annotations

from django import forms

from adminpanel.lib.form_fields import VisibleTextField, text_input
from adminpanel.lib.validators import validate_user_name


class LookupForm(forms.Form):
    # Spaces around a pasted name are a copy artefact and are dropped; spaces
    # inside a name are refused by the validator.
    name = VisibleTextField(
        label="User name",
        required=True,
        strip=True,
        validators=[validate_user_name],
        widget=text_input(),
    )
