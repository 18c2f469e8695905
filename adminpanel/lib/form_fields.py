"""Form fields the panel's forms share.

Text inputs carry no ``maxlength``: a browser would cut a pasted value
silently, and a name that is not what was typed is worse than a clear "too
long" error from the field's validator.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core import validators


class VisibleTextField(forms.CharField):
    """A CharField kept exactly as typed, checked by one of the panel's validators.

    Django's own "Null characters are not allowed" check is dropped: the
    panel's validators already refuse NUL, with a message naming the field.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("strip", False)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.validators = [
            v
            for v in self.validators
            if not isinstance(v, validators.ProhibitNullCharactersValidator)
        ]


def text_input(**attrs: str) -> forms.TextInput:
    return forms.TextInput(
        attrs={"autocapitalize": "none", "autocomplete": "off", "spellcheck": "false", **attrs}
    )
