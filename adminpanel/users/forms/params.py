"""The params half of a user form: a formset of name and value rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.forms.formsets import DELETION_FIELD_NAME as DELETE

from adminpanel.lib.form_fields import VisibleTextField, text_input
from adminpanel.lib.validators import validate_name, validate_param_value
from adminpanel.pymap.backends import Capabilities

from .. import backend_rules

#: Params a form accepts; pymap has no limit of its own.
MAX_PARAMS = 100


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
