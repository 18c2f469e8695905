from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator
from django.db.models import QuerySet
from django.utils import timezone

from .models import Action, AuditEvent


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
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any action"), *Action.choices]
    )
    outcome = forms.CharField(
        label="Outcome",
        required=False,
        validators=[MaxLengthValidator(100)],
        help_text="ok, Throttled, or a result key such as InvalidAuth.",
        widget=forms.TextInput(attrs={"autocapitalize": "none"}),
    )
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="Until (inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

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
        if data["target"]:
            events = events.filter(target__icontains=data["target"])
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["outcome"]:
            events = events.filter(outcome__iexact=data["outcome"].strip())
        if data["since"]:
            events = events.filter(created_at__gte=_start_of(data["since"]))
        if data["until"]:
            events = events.filter(created_at__lt=_start_of(data["until"] + timedelta(days=1)))
        return events


def _start_of(day: date) -> datetime:
    """Midnight at the start of ``day`` in the panel's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))
