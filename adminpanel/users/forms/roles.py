"""The roles half of a user form: the admin role as a checkbox, any other
roles one per line, and the confirmation a risky mailbox path needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from adminpanel.lib.form_fields import VisibleTextField
from adminpanel.lib.validators import validate_name
from adminpanel.pymap.backends import Capabilities
from adminpanel.pymap.results import ADMIN_ROLE

from .. import backend_rules

#: Roles a form accepts; pymap has no limit of its own.
MAX_ROLES = 50


class RolesForm(forms.Form):
    """The admin role as a checkbox, any other roles one per line.

    ``caps`` are the server's backend's: roles it would misread are refused.
    """

    is_admin = forms.BooleanField(
        label="Admin role",
        required=False,
        help_text="Lets the user act on every user: look up, create, change and delete "
        "users, and deliver mail to any mailbox.",
    )
    other_roles = VisibleTextField(
        label="Other roles",
        help_text="One per line. pymap itself only checks the admin role; other roles are "
        "kept for whatever else reads them.",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocapitalize": "none"}),
    )

    confirm_mailbox_path = forms.BooleanField(
        label="Yes, point the user at this mailbox path",
        required=False,
    )

    def __init__(self, *args: Any, caps: Capabilities, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.caps = caps
        #: Why the mailbox path needs confirming, once a check found a reason.
        self.mailbox_warning: str | None = None

    def confirm_mailbox_path_of(
        self, name: str, params: Mapping[str, str], before: Mapping[str, str] | None
    ) -> bool:
        """After is_valid(): False (and an error) when the backend's mailbox
        path needs a ticked box first (see backend_rules.mailbox_path_warning)."""
        warning = backend_rules.mailbox_path_warning(self.caps, name, params, before)
        self.mailbox_warning = warning
        if warning is None or self.cleaned_data.get("confirm_mailbox_path"):
            return True
        # As the box's help text, so that the box is described by the reason.
        self.fields["confirm_mailbox_path"].help_text = warning
        self.add_error(
            "confirm_mailbox_path",
            "Tick the box to save it anyway, or change the mailbox_path parameter.",
        )
        return False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "other_roles" not in self.errors:
            for problem in backend_rules.role_problems(self.caps, self.roles()):
                self.add_error("other_roles", problem)
        return data

    def clean_other_roles(self) -> list[str]:
        roles: list[str] = []
        text = str(self.cleaned_data.get("other_roles") or "").replace("\r\n", "\n")
        # Split on line feeds only: str.splitlines() would also split on
        # control characters (\x1c, \x85...) that must be refused, not used.
        for line in text.split("\n"):
            if not line:
                continue  # an empty line separates nothing
            try:
                validate_name(line, what="A role")
            except ValidationError as exc:
                # repr() shows what is wrong: '\x00', '\t', trailing spaces.
                raise ValidationError(f"{exc.messages[0]} ({line[:40]!r})", code=exc.code) from exc
            if line not in roles:
                roles.append(line)
        if len(roles) > MAX_ROLES:
            raise ValidationError(f"A user can have at most {MAX_ROLES} roles here.")
        return roles

    def roles(self) -> list[str]:
        """The roles to send, the admin role first (call after is_valid()).

        "admin" typed among the other roles counts like the checkbox.
        """
        others: list[str] = self.cleaned_data.get("other_roles") or []
        admin = bool(self.cleaned_data.get("is_admin")) or ADMIN_ROLE in others
        return ([ADMIN_ROLE] if admin else []) + [role for role in others if role != ADMIN_ROLE]


def roles_initial(roles: Sequence[str]) -> dict[str, Any]:
    return {
        "is_admin": ADMIN_ROLE in roles,
        "other_roles": "\n".join(role for role in roles if role != ADMIN_ROLE),
    }
