"""The forms of the mailbox pages; they only validate."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

#: pymap's hierarchy separator; a name may use it to make a sub-mailbox.
SEPARATOR = "/"
MAX_NAME = 200


def validate_mailbox_name(value: str) -> None:
    if not value.strip() or value != value.strip():
        raise ValidationError("A mailbox name cannot be empty or start or end with a space.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValidationError("A mailbox name cannot hold control characters or line breaks.")
    if value.upper() == "INBOX" or value.startswith(SEPARATOR) or value.endswith(SEPARATOR):
        raise ValidationError(
            "Not a usable name: INBOX exists already, and a name cannot start or end with '/'."
        )
    if "%" in value or "*" in value:
        raise ValidationError("A mailbox name cannot hold '%' or '*' (IMAP wildcards).")


class MailAccessForm(forms.Form):
    password = forms.CharField(
        label="Your own password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        max_length=1024,
        help_text="The password of the pymap user you signed in as; never the user's own.",
    )


class MailboxNameForm(forms.Form):
    mailbox = forms.CharField(
        label="Mailbox name",
        max_length=MAX_NAME,
        strip=False,
        validators=[validate_mailbox_name],
        help_text="Use '/' for a mailbox inside another, e.g. Archive/2026.",
    )


class RenameForm(forms.Form):
    new_name = forms.CharField(
        label="New name", max_length=MAX_NAME, strip=False, validators=[validate_mailbox_name]
    )
