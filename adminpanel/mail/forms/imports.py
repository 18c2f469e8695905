"""The import form: an mbox archive or .eml files, into one mailbox."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from ..models import DateSource
from .fields import FlagsMixin, TargetMixin


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            if not data:
                # No file chosen (a browser then sends an empty part, which
                # Django drops): the single-file check says "required".
                single(None, initial)
                return []
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class ImportForm(TargetMixin, FlagsMixin):
    """An mbox archive (.mbox, .mbox.gz) or .eml files, into one mailbox."""

    # The order of the page, which the error summary follows.
    field_order = [
        "user", "mailbox", "upload", "date_source", "archive_flags", "flags", "keywords",
    ]  # fmt: skip

    date_source = forms.ChoiceField(
        label="Internal date of each message",
        choices=DateSource.choices,
        initial=DateSource.HEADER,
        widget=forms.RadioSelect,
    )
    archive_flags = forms.BooleanField(
        label="Keep each message's read, answered and flagged state",
        required=False,
        initial=True,
        help_text="From mbox Status and X-Status headers, and from Maildir file names "
        "(…:2,FRS). Without it, a message read in the archive arrives unread.",
    )
    upload = MultipleFileField(
        label="mbox archive or .eml files",
        help_text="One mbox archive (.mbox, or compressed .mbox.gz), or any number of "
        ".eml files (one message each).",
        widget=MultipleFileInput(attrs={"accept": ".mbox,.mbx,.gz,.eml,message/rfc822"}),
    )
