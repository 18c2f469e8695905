from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import OK, Action, AuditEvent

#: The outcome filter's choice for every failure and refusal.
NOT_OK = "not-ok"


class AuditFilterForm(forms.Form):
    """The audit page's filters; every one optional, all of them combined."""

    operator = forms.CharField(
        label="Operator",
        required=False,
        validators=[MaxLengthValidator(600)],
        help_text="Part of the operator's name.",
        widget=forms.TextInput(attrs={"type": "search", "autocapitalize": "none"}),
    )
    target = forms.CharField(
        label="Target user",
        required=False,
        validators=[MaxLengthValidator(300)],
        help_text="Part of the target user's name.",
        widget=forms.TextInput(attrs={"type": "search", "autocapitalize": "none"}),
    )
    exact_target = forms.BooleanField(
        label="Only this exact user",
        required=False,
        help_text="The user's own events and imports into their mailboxes, not other names "
        "that contain it.",
    )
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any action"), *Action.choices]
    )
    outcome = forms.ChoiceField(label="Outcome", required=False)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="Until (inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, outcomes: Iterable[str] = (), **kwargs: Any) -> None:
        """``outcomes``: those the operator's events have, for the choice list."""
        super().__init__(*args, **kwargs)
        offered = sorted(set(outcomes) - {OK}, key=str.lower)
        asked = self.data.get("outcome", "") if self.is_bound else ""
        if _is_outcome(asked) and asked not in (OK, NOT_OK) and asked not in offered:
            offered.append(asked)  # a link to a filter keeps working
        field = self.fields["outcome"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            ("", "Any outcome"),
            (OK, "ok"),
            (NOT_OK, "Anything but ok"),
            *((outcome, outcome) for outcome in offered),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    def apply(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        """``events`` narrowed by the valid filters."""
        data = self.cleaned_data
        if data["operator"]:
            events = events.filter(operator__icontains=data["operator"])
        if data["target"] and data["exact_target"]:
            name = data["target"]
            events = events.filter(
                Q(target=name) | Q(action=Action.MAILBOX_IMPORT, target__startswith=f"{name}/")
            )
        elif data["target"]:
            events = events.filter(target__icontains=data["target"])
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["outcome"] == NOT_OK:
            events = events.exclude(outcome=OK)
        elif data["outcome"]:
            events = events.filter(outcome__iexact=data["outcome"])
        if data["since"]:
            events = events.filter(created_at__gte=_start_of(data["since"]))
        if data["until"]:
            events = events.filter(created_at__lt=_start_of(data["until"] + timedelta(days=1)))
        return events


def _is_outcome(value: str) -> bool:
    """What an outcome may look like: a result key, ``ok``, ``Throttled``."""
    return 0 < len(value) <= 100 and value.isprintable() and not value.isspace()


def _start_of(day: date) -> datetime:
    """Midnight at the start of ``day`` in the operator's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))
