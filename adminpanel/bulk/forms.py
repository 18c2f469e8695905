"""The upload form (the CSV itself is read by csvfile.py)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat


class UploadForm(forms.Form):
    upload = forms.FileField(
        label="CSV file",
        help_text="UTF-8, with a header row: name, password, roles, params, action.",
    )

    def clean_upload(self) -> object:
        uploaded = self.cleaned_data["upload"]
        limit: int = settings.PANEL_BULK_MAX_BYTES
        if (uploaded.size or 0) > limit:
            raise forms.ValidationError(
                f"The file is {filesizeformat(uploaded.size)}; the most one upload may have is "
                f"{filesizeformat(limit)} (PANEL_BULK_MAX_BYTES)."
            )
        return uploaded
