"""The deliver and import forms: they validate, nothing else.

pymap accepts arbitrary bytes in user and mailbox names, flags and addresses,
so everything is checked here before any call: names without control
characters, flags that are IMAP system flags or keyword atoms (RFC 3501),
envelope addresses without line breaks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import MaxLengthValidator

from adminpanel.form_fields import VisibleTextField, text_input
from adminpanel.validators import has_control, validate_user_name

from .models import DateSource

#: The system flags a message may be given (\Recent is the server's to set).
SYSTEM_FLAGS = ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft")
_SYSTEM_FLAGS_BY_NAME = {flag.lower(): flag for flag in SYSTEM_FLAGS}
#: RFC 3501 atom-specials besides controls and space: ( ) { % * " \ ]
_ATOM_SPECIALS = frozenset('(){%*"\\]')
MAX_KEYWORD_LENGTH = 100
MAX_KEYWORDS = 50
MAX_MAILBOX_LENGTH = 1000
MAX_ADDRESS_LENGTH = 320
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def validate_mailbox_name(value: str) -> None:
    """Mailbox names may have spaces ("Sent Items") but no control characters."""
    if not value.strip():
        raise ValidationError("Enter a mailbox name.", code="empty")
    if len(value) > MAX_MAILBOX_LENGTH:
        raise ValidationError(
            f"A mailbox name can be at most {MAX_MAILBOX_LENGTH} characters.", code="too_long"
        )
    if has_control(value):
        raise ValidationError(
            "A mailbox name cannot contain control characters (such as line breaks).",
            code="control",
        )


def validate_envelope_address(value: str) -> None:
    if len(value) > MAX_ADDRESS_LENGTH:
        raise ValidationError(
            f"An address can be at most {MAX_ADDRESS_LENGTH} characters.", code="too_long"
        )
    if has_control(value) or any(ch.isspace() for ch in value):
        raise ValidationError(
            "An address cannot contain spaces, line breaks or other control characters.",
            code="control",
        )


def is_keyword_atom(value: str) -> bool:
    """An IMAP keyword: 1+ printable ASCII characters, none an atom-special."""
    return bool(value) and all(0x21 <= ord(ch) <= 0x7E and ch not in _ATOM_SPECIALS for ch in value)


def _quoted(word: str) -> str:
    """A word for an error message: as typed when printable (``"\\Recent"``, not
    repr's doubled backslash), else repr, so a control character shows."""
    word = word[:40]
    return f"\u201c{word}\u201d" if word.isprintable() else repr(word)


def parse_keywords(text: str) -> list[str]:
    """Space-separated keywords (``$Label1 Project-X``) as a list.

    System flags typed here are accepted in any case and written the usual
    way; ``\\Recent`` and unknown backslash flags are refused.
    """
    keywords: list[str] = []
    problems: list[str] = []
    for word in text.split():
        if word.startswith("\\"):
            flag = _SYSTEM_FLAGS_BY_NAME.get(word.lower())
            if flag is None:
                problems.append(
                    f"{_quoted(word)} is not a flag a message can be given "
                    f"(system flags: {' '.join(SYSTEM_FLAGS)})."
                )
            elif flag not in keywords:
                keywords.append(flag)
            continue
        if len(word) > MAX_KEYWORD_LENGTH:
            problems.append(f"Keywords can be at most {MAX_KEYWORD_LENGTH} characters.")
        elif not is_keyword_atom(word):
            problems.append(
                f"{_quoted(word)} is not an IMAP keyword: use ASCII letters, digits and "
                'punctuation other than ( ) { } % * " \\ ].'
            )
        elif word not in keywords:
            keywords.append(word)
    if len(keywords) > MAX_KEYWORDS:
        problems.append(f"At most {MAX_KEYWORDS} keywords.")
    if problems:
        raise ValidationError(problems, code="keyword")
    return keywords


class _FlagsMixin(forms.Form):
    flags = forms.MultipleChoiceField(
        label="Flags",
        required=False,
        choices=[(flag, flag[1:]) for flag in SYSTEM_FLAGS],
        widget=forms.CheckboxSelectMultiple,
    )
    keywords = forms.CharField(
        label="Keywords",
        required=False,
        # A validator, not max_length: no maxlength for the browser to cut at.
        validators=[MaxLengthValidator(2000)],
        help_text="Custom flags, separated by spaces, e.g. $Label1 Important.",
        widget=text_input(),
    )

    def clean_keywords(self) -> list[str]:
        return parse_keywords(self.cleaned_data.get("keywords") or "")

    def all_flags(self) -> list[str]:
        """The chosen system flags, then the keywords, without repeats."""
        chosen = list(self.cleaned_data.get("flags") or [])
        for keyword in self.cleaned_data.get("keywords") or []:
            if keyword not in chosen:
                chosen.append(keyword)
        return chosen


class _TargetMixin(forms.Form):
    user = VisibleTextField(
        label="User", required=True, validators=[validate_user_name], widget=text_input()
    )
    mailbox = VisibleTextField(
        label="Mailbox",
        required=True,
        initial="INBOX",
        validators=[validate_mailbox_name],
        help_text="It must exist already (pymap answers [TRYCREATE] otherwise).",
    )


class DeliverForm(_TargetMixin, _FlagsMixin):
    """One message, typed or uploaded, and how to deliver it."""

    # The order of the page, which the error summary follows.
    field_order = [
        "user", "mailbox", "sender", "recipient", "date", "flags", "keywords",
        "message_text", "message_file",
    ]  # fmt: skip

    sender = VisibleTextField(
        label="Envelope sender (optional)",
        strip=True,
        validators=[validate_envelope_address],
        help_text="Like pymap-admin append --from; the user's filter may look at it.",
        widget=text_input(),
    )
    recipient = VisibleTextField(
        label="Envelope recipient (optional)",
        strip=True,
        validators=[validate_envelope_address],
        help_text="Like pymap-admin append --to; pymap uses the user name when empty.",
        widget=text_input(),
    )
    date = forms.DateTimeField(
        label="Internal date (optional)",
        required=False,
        help_text="When the message arrived, as IMAP shows it; empty means the time of delivery.",
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"
        ),
    )
    message_text = forms.CharField(
        label="Message",
        required=False,
        strip=False,
        help_text="The whole message, headers first, then an empty line, then the body. "
        "Typed text is sent as UTF-8 with CRLF line breaks.",
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
    )
    message_file = forms.FileField(
        label="Or upload a message (.eml)",
        required=False,
        help_text="Sent byte for byte, whatever its encoding.",
        widget=forms.ClearableFileInput(attrs={"accept": ".eml,message/rfc822"}),
    )

    def clean_date(self) -> datetime | None:
        value: datetime | None = self.cleaned_data["date"]
        if value is not None and value < _EARLIEST:
            raise ValidationError("The date cannot be before 1970.", code="too_early")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        typed = data.get("message_text") or ""
        uploaded = data.get("message_file")
        if typed and uploaded:
            self.add_error(None, "Either type the message or upload it, not both.")
        elif not typed.strip() and uploaded is None:
            self.add_error("message_text", "Type or paste a message, or upload one.")
        return data

    def message_bytes(self) -> bytes:
        """The message as it will be sent: an upload as it is; typed text as UTF-8."""
        uploaded: UploadedFile | None = self.cleaned_data.get("message_file")
        if uploaded is not None:
            return b"".join(uploaded.chunks())
        text: str = self.cleaned_data["message_text"]
        # Browsers send a textarea's line breaks as CRLF already; a client
        # that sent bare LF gets CRLF as well, as mail on the wire has.
        return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


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


class ImportForm(_TargetMixin, _FlagsMixin):
    """An mbox archive (.mbox, .mbox.gz) or .eml files, into one mailbox."""

    # The order of the page, which the error summary follows.
    field_order = ["user", "mailbox", "upload", "date_source", "flags", "keywords"]

    date_source = forms.ChoiceField(
        label="Internal date of each message",
        choices=DateSource.choices,
        initial=DateSource.HEADER,
        widget=forms.RadioSelect,
    )
    upload = MultipleFileField(
        label="mbox archive or .eml files",
        help_text="One mbox archive (.mbox, or compressed .mbox.gz), or any number of "
        ".eml files (one message each).",
        widget=MultipleFileInput(attrs={"accept": ".mbox,.mbx,.gz,.eml,message/rfc822"}),
    )
