"""The deliver form: one message, written in fields, pasted raw or uploaded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from adminpanel.lib.form_fields import VisibleTextField, text_input

from ..compose import compose, parse_addresses
from ..models import MessageSource
from .fields import FlagsMixin, TargetMixin, validate_envelope_address, validate_header_text

_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
#: The sources a new message can come from (KEPT only when editing one).
_NEW_SOURCES = [choice for choice in MessageSource.choices if choice[0] != MessageSource.KEPT]


class DeliverForm(TargetMixin, FlagsMixin):
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
