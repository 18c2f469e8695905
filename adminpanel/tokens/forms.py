"""The token forms. They only validate; actions.py talks to pymap.

A lifetime is a number and a unit, at most ``PANEL_TOKEN_MAX_SECONDS``; it
becomes a timezone-aware ``time <`` caveat (never pymap's
``token_expiration``, which 0.36.7 turns into a token it cannot verify).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

from adminpanel.lib.form_fields import VisibleTextField, text_input
from adminpanel.lib.saslprep import validate_saslprep
from adminpanel.lib.validators import validate_user_name
from adminpanel.pymap.tokens import MalformedToken, TokenDetails, read_token

MAX_PASSWORD_LENGTH = 1024
#: A pasted token longer than this is not one of pymap's (they are ~200 bytes).
MAX_TOKEN_LENGTH = 8192

UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def max_seconds() -> int:
    limit: int = settings.PANEL_TOKEN_MAX_SECONDS
    return limit


def describe_seconds(seconds: int) -> str:
    for unit, size in reversed(UNITS.items()):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit if count != 1 else unit[:-1]}"
    return f"{seconds} seconds"  # pragma: no cover  (1 divides everything)


class BlankTextarea(forms.Textarea):
    """Never renders the value back: a pasted token is not echoed into the page."""

    def format_value(self, value: Any) -> str | None:
        return None


class LifetimeMixin(forms.Form):
    lifetime = forms.IntegerField(
        label="Valid for", min_value=1, initial=1, widget=forms.NumberInput(attrs={"min": "1"})
    )
    unit = forms.ChoiceField(
        label="Unit", choices=[(unit, unit) for unit in UNITS], initial="hours"
    )

    def lifetime_seconds(self) -> int:
        return int(self.cleaned_data["lifetime"]) * UNITS[self.cleaned_data["unit"]]

    def check_lifetime(self) -> None:
        if self.errors.get("lifetime") or self.errors.get("unit"):
            return
        if self.cleaned_data.get("lifetime") is None:
            return
        seconds = self.lifetime_seconds()
        if seconds > max_seconds():
            self.add_error(
                "lifetime",
                f"A token can be valid for at most {describe_seconds(max_seconds())} "
                f"(PANEL_TOKEN_MAX_SECONDS); {describe_seconds(seconds)} is longer.",
            )


def _act_as_field() -> VisibleTextField:
    return VisibleTextField(
        label="Act as (optional)",
        validators=[validate_user_name],
        help_text="Adds the caveat authzid = NAME: the token then acts on that user only.",
        widget=text_input(),
    )


class IssueTokenForm(LifetimeMixin):
    """``for_others``: a user name field (admin); otherwise the operator's own
    token, after the password is typed again."""

    def __init__(self, *args: Any, for_others: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.for_others = for_others
        self.fields[
            "lifetime"
        ].help_text = (
            f"At most {describe_seconds(max_seconds())}. The expiry is a caveat inside the token."
        )
        if for_others:
            self.fields["user"] = VisibleTextField(
                label="User", required=True, validators=[validate_user_name], widget=text_input()
            )
        else:
            self.fields["password"] = forms.CharField(
                label="Your password",
                strip=False,
                validators=[MaxLengthValidator(MAX_PASSWORD_LENGTH)],
                help_text="Typed again, as pymap-admin login -i asks.",
                widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
            )
        self.fields["act_as"] = _act_as_field()
        self.order_fields(["user", "password", "lifetime", "unit", "act_as"])

    def clean_password(self) -> str:
        """What pymap's SASLprep cannot prepare (CR/LF, say) makes it fail
        internally: refused here, as at sign-in."""
        password: str = self.cleaned_data["password"]
        validate_saslprep(password, what="The password")
        return password

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.check_lifetime()
        return cleaned


class InspectTokenForm(LifetimeMixin):
    """Paste a token; optionally narrow it (an earlier expiry, one user)."""

    token = forms.CharField(
        label="Token",
        validators=[MaxLengthValidator(MAX_TOKEN_LENGTH)],
        widget=BlankTextarea(
            attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false", "class": "token"}
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lifetime"].required = False
        self.fields["lifetime"].initial = None
        self.fields["lifetime"].label = "Expire in (optional)"
        self.fields[
            "lifetime"
        ].help_text = "Adds time < now + this: only ever an earlier end than the token has."
        self.fields["act_as"] = _act_as_field()
        self.order_fields(["token", "lifetime", "unit", "act_as"])
        self.details: TokenDetails | None = None

    def clean_token(self) -> str:
        text: str = self.cleaned_data["token"].strip()
        try:
            self.details = read_token(text)
        except MalformedToken as exc:
            raise ValidationError(
                "This is not a pymap token: a token is one line of letters, digits, - and _ "
                "as pymap or this panel printed it. Paste it again, whole.",
                code="malformed",
            ) from exc
        return text

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.check_lifetime()
        return cleaned

    def until(self, now: datetime | None = None) -> datetime | None:
        if self.cleaned_data.get("lifetime") is None:
            return None
        start = (now or datetime.now(UTC)).replace(microsecond=0)
        return start + timedelta(seconds=self.lifetime_seconds())
