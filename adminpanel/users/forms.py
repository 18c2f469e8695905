"""Forms for the user pages. They only validate; the views talk to pymap.

Everything a person types is checked here, before any RPC: pymap itself
accepts empty names and arbitrary bytes (PYMAP.md), so these rules are the
only ones there are. Text inputs carry no ``maxlength``: a browser would cut
a pasted value silently, and a name or password that is not what was typed
is worse than a clear "too long" error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.forms.formsets import DELETION_FIELD_NAME as DELETE

from adminpanel.lib.form_fields import VisibleTextField, text_input
from adminpanel.lib.saslprep import validate_login_name
from adminpanel.lib.validators import validate_name, validate_param_value, validate_user_name
from adminpanel.pymap.backends import Capabilities
from adminpanel.pymap.results import ADMIN_ROLE

from . import backend_rules
from .editable import PasswordAction
from .generated import generate_password
from .password_forms import (
    GENERATE_LABEL,
    NEW_PASSWORD_HELP,
    check_new_password,
    password_field,
)

#: Roles and params a form accepts; pymap has no limit of its own.
MAX_ROLES = 50
MAX_PARAMS = 100

_BASE_SALT = "adminpanel.users.edit-base"

# --- roles -------------------------------------------------------------------


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


# --- params --------------------------------------------------------------------


class ParamForm(forms.Form):
    key = VisibleTextField(label="Name", widget=text_input())
    # A one-line textarea, not an <input>: browsers drop line breaks from an
    # input's value, which would change a stored multi-line value silently.
    value = VisibleTextField(
        label="Value",
        validators=[validate_param_value],
        widget=forms.Textarea(attrs={"rows": 1, "spellcheck": "false", "autocapitalize": "none"}),
    )

    def clean_key(self) -> str:
        key: str = self.cleaned_data.get("key") or ""
        if key:
            validate_name(key, what="A parameter name")
        return key

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("key") and data.get("value") and "key" not in self.errors:
            self.add_error("key", "Give this value a name, or clear the value.")
        return data


if TYPE_CHECKING:
    _FormSet = forms.BaseFormSet[ParamForm]
else:
    _FormSet = forms.BaseFormSet  # not subscriptable at run time


class BaseParamFormSet(_FormSet):
    """The params rows; ``caps`` (the server's backend's) refuse what it misreads."""

    def __init__(self, *args: Any, caps: Capabilities, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.caps = caps

    def add_fields(self, form: ParamForm, index: int | None) -> None:
        super().add_fields(form, index)
        if DELETE in form.fields:
            form.fields[DELETE].label = "Remove"

    def clean(self) -> None:
        if any(self.errors):
            return
        seen: set[str] = set()
        for form in self.forms:
            key = form.cleaned_data.get("key")
            if not key or form.cleaned_data.get(DELETE):
                continue
            if key in seen:
                raise ValidationError(f"The parameter {key!r} appears twice; keep one.")
            seen.add(key)
        problems = backend_rules.param_problems(self.caps, self.params())
        for form in self.forms:
            key = form.cleaned_data.get("key")
            if key in problems and not form.cleaned_data.get(DELETE):
                form.add_error("key", problems[key])

    def params(self) -> dict[str, str]:
        """name -> value of the filled-in rows not marked for removal."""
        return {
            form.cleaned_data["key"]: form.cleaned_data.get("value") or ""
            for form in self.forms
            if form.cleaned_data.get("key") and not form.cleaned_data.get(DELETE)
        }


ParamFormSet = cast(
    type[BaseParamFormSet],
    formset_factory(
        ParamForm,
        formset=BaseParamFormSet,
        extra=3,
        can_delete=True,
        max_num=MAX_PARAMS,
        validate_max=True,
        absolute_max=MAX_PARAMS + 10,
    ),
)
PARAMS_PREFIX = "params"


def params_initial(params: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in sorted(params.items())]


# --- create -----------------------------------------------------------------------


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


# --- edit ---------------------------------------------------------------------------


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


# --- lookup ------------------------------------------------------------------------------


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
