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

from adminpanel.lib.form_fields import VisibleTextField, text_input
from adminpanel.lib.validators import has_control, validate_user_name

from .compose import MAX_HEADER_LENGTH, compose, parse_addresses
from .flags import SYSTEM_FLAGS
from .models import DateSource, MessageSource

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


def validate_header_text(value: str) -> None:
    """One line of header text (a Subject): no line breaks, not overlong."""
    if len(value) > MAX_HEADER_LENGTH:
        raise ValidationError(
            f"This can be at most {MAX_HEADER_LENGTH} characters.", code="too_long"
        )
    if has_control(value):
        raise ValidationError(
            "This cannot contain line breaks or other control characters.", code="control"
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
        help_text="It must exist already: the mail server does not create it.",
    )


#: The sources a new message can come from (KEPT only when editing one).
_NEW_SOURCES = [choice for choice in MessageSource.choices if choice[0] != MessageSource.KEPT]


class DeliverForm(_TargetMixin, _FlagsMixin):
    """One message, written in simple fields, pasted raw or uploaded, and how to
    deliver it.

    Only the chosen source's fields are used. The page's script disables the
    others (so they are not sent); without it every field is shown, and a
    second source filled in as well is refused rather than silently dropped.
    A client that sends no choice gets the one its fields imply.
    """

    # The order of the page, which the error summary follows.
    field_order = [
        "user", "mailbox", "source", "compose_from", "compose_to", "compose_subject",
        "compose_body", "message_text", "message_file", "sender", "recipient", "date",
        "flags", "keywords",
    ]  # fmt: skip

    source = forms.ChoiceField(
        label="The message",
        required=False,
        choices=_NEW_SOURCES,
        initial=MessageSource.COMPOSE,
        widget=forms.RadioSelect,
    )
    compose_from = VisibleTextField(
        label="From", strip=True, help_text="Name <name@example.org>", widget=text_input()
    )
    compose_to = VisibleTextField(
        label="To (optional)",
        strip=True,
        help_text="One or more addresses, separated by commas.",
        widget=text_input(),
    )
    compose_subject = VisibleTextField(
        label="Subject (optional)",
        strip=True,
        validators=[validate_header_text],
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    compose_body = forms.CharField(
        label="Text",
        required=False,
        strip=False,
        help_text="Plain text. Date and Message-ID are added when you preview.",
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    message_text = forms.CharField(
        label="Raw message",
        required=False,
        strip=False,
        help_text="The whole message, headers first, then an empty line, then the body. "
        "Sent as UTF-8 with CRLF line breaks.",
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
    )
    message_file = forms.FileField(
        label="Message file (.eml)",
        required=False,
        help_text="Sent byte for byte, whatever its encoding.",
        widget=forms.ClearableFileInput(attrs={"accept": ".eml,message/rfc822"}),
    )
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

    def __init__(self, *args: Any, kept_file: str | None = None, **kwargs: Any) -> None:
        """``kept_file`` describes the upload of the message being edited, if any."""
        super().__init__(*args, **kwargs)
        self.kept_file = kept_file
        if kept_file is not None:
            field = self.fields["source"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [
                *_NEW_SOURCES,
                (MessageSource.KEPT, f"{MessageSource.KEPT.label}: {kept_file}"),
            ]

    def clean_date(self) -> datetime | None:
        value: datetime | None = self.cleaned_data["date"]
        if value is not None and value < _EARLIEST:
            raise ValidationError("The date cannot be before 1970.", code="too_early")
        return value

    def _filled(self, data: dict[str, Any]) -> list[MessageSource]:
        """The sources whose fields hold something, in the page's order."""
        filled = []
        compose_fields = ("compose_from", "compose_to", "compose_subject", "compose_body")
        if any((self.data.get(name) or "").strip() for name in compose_fields):
            filled.append(MessageSource.COMPOSE)
        if (data.get("message_text") or "").strip():
            filled.append(MessageSource.RAW)
        if data.get("message_file") is not None:
            filled.append(MessageSource.FILE)
        return filled

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        filled = self._filled(data)
        chosen = data.get("source")
        if not chosen:
            if len(filled) > 1:
                self.add_error(None, "Either type the message or upload it, not both.")
                return data
            chosen = filled[0] if filled else MessageSource.COMPOSE
        source = MessageSource(chosen)
        data["source"] = source
        others = [other for other in filled if other != source]
        if others:
            other = others[0]
            self.add_error(
                None,
                f"You chose “{_SHORT_NAMES[source]}”, but {_ALSO_FILLED[other]}, or choose "
                f"“{_SHORT_NAMES[other]}”.",
            )
        if source == MessageSource.COMPOSE:
            self._clean_compose(data)
        elif source == MessageSource.RAW and not (data.get("message_text") or "").strip():
            self.add_error("message_text", "Type or paste a message.")
        elif source == MessageSource.FILE and data.get("message_file") is None:
            self.add_error("message_file", "Choose a file.")
        elif source == MessageSource.KEPT and self.kept_file is None:
            self.add_error("source", "The file uploaded before is no longer kept: upload it again.")
        return data

    def _clean_compose(self, data: dict[str, Any]) -> None:
        sender = data.get("compose_from") or ""
        if not sender:
            self.add_error("compose_from", "Enter the sender's address.")
        else:
            self._check_addresses(data, "compose_from", single=True)
        if data.get("compose_to"):
            self._check_addresses(data, "compose_to", single=False)

    def _check_addresses(self, data: dict[str, Any], name: str, *, single: bool) -> None:
        try:
            parse_addresses(data[name], single=single)
        except ValidationError as exc:
            self.add_error(name, exc)

    def message_bytes(self, now: datetime) -> bytes:
        """The message as it will be sent: written in the fields, composed with
        ``now`` as its Date; typed text as UTF-8; an upload as it is. Not for
        :attr:`MessageSource.KEPT` (the view has those bytes)."""
        data = self.cleaned_data
        source = data["source"]
        if source == MessageSource.COMPOSE:
            return compose(
                sender=data["compose_from"],
                to=data["compose_to"],
                subject=data["compose_subject"],
                body=data["compose_body"],
                now=now,
            )
        if source == MessageSource.FILE:
            uploaded: UploadedFile = data["message_file"]
            return b"".join(uploaded.chunks())
        if source == MessageSource.RAW:
            text: str = data["message_text"]
            # Browsers send a textarea's line breaks as CRLF already; a client
            # that sent bare LF gets CRLF as well, as mail on the wire has.
            return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
        raise ValueError(f"no bytes for source {source}")


#: How the form's error messages name each source and its fields.
_SHORT_NAMES = {
    MessageSource.COMPOSE: "Write it here",
    MessageSource.RAW: "Paste the whole message",
    MessageSource.FILE: "Upload an .eml file",
    MessageSource.KEPT: "The file uploaded before",
}
_ALSO_FILLED = {
    MessageSource.COMPOSE: "the From, To, Subject or Text field is filled in too: clear it",
    MessageSource.RAW: "the Raw message box is filled in too: clear it",
    MessageSource.FILE: "a message file is chosen too: remove it",
}


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
