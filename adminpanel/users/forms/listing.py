"""The user list's search and paging: what ``/users/?q=...&after=...`` may say."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from adminpanel.lib.form_fields import VisibleTextField, text_input
from adminpanel.lib.validators import MAX_NAME_LENGTH, has_control

CONTAINS, STARTS_WITH = "contains", "starts"
#: A SCAN cursor is an unsigned 64-bit number.
MAX_AFTER = 2**64 - 1
#: The hidden paging fields; a bad value in them is a bad link, not a typo.
PAGING_FIELDS = ("after", "page")


def validate_search_text(value: str) -> None:
    if len(value) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"A search can be at most {MAX_NAME_LENGTH} characters (this one has {len(value)}).",
            code="too_long",
        )
    if has_control(value):
        raise ValidationError(
            "A search cannot contain control characters (such as line breaks or NUL): no user "
            "name the panel can open has one.",
            code="control",
        )


class UserListForm(forms.Form):
    q = VisibleTextField(
        label="Name",
        strip=True,
        validators=[validate_search_text],
        widget=text_input(type="search"),
        help_text="Part of a user name; letters match in either case. Empty: every user.",
    )
    match = forms.ChoiceField(
        label="Match",
        choices=[(CONTAINS, "Anywhere in the name"), (STARTS_WITH, "At the start of the name")],
        required=False,
        widget=forms.RadioSelect,
    )
    after = forms.IntegerField(
        min_value=0, max_value=MAX_AFTER, required=False, widget=forms.HiddenInput
    )
    page = forms.IntegerField(
        min_value=1, max_value=10**9, required=False, widget=forms.HiddenInput
    )

    def __init__(self, data: QueryDict | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "user-list-%s")
        if data is not None and not data.get("match"):
            # A link without a match (the plain /users/) shows "anywhere" chosen.
            data = data.copy()
            data["match"] = CONTAINS
        super().__init__(data, **kwargs)

    def clean(self) -> dict[str, Any]:
        super().clean()
        bad = [name for name in PAGING_FIELDS if name in self.errors]
        for name in bad:
            del self.errors[name]
        if bad:
            raise ValidationError(
                "This page's address does not come from the list: its page position is not a "
                "number the list makes. Start again from the first page.",
                code="paging",
            )
        return self.cleaned_data
