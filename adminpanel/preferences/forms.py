from __future__ import annotations

from typing import Any

from django import forms

from .zones import known_zones, panel_zone_name


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Show times in",
        required=False,
        help_text="Dates you type (the deliver form's internal date, the audit "
        "filters) are read in this zone too.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["time_zone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            ("", f"The panel's zone ({panel_zone_name()})"),
            *((zone, zone.replace("_", " ")) for zone in sorted(known_zones())),
        ]
