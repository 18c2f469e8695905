"""A message written in the deliver form's simple fields, as RFC 5322 bytes.

The ``email`` package does the writing (header encoding, folding, the
transfer encoding of the text), so what the panel delivers is what any mail
client would have produced: From, To, Subject, Date and Message-ID, then a
UTF-8 ``text/plain`` body, CRLF line endings.
"""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid

from django.core.exceptions import ValidationError

from adminpanel.lib.validators import has_control

from .parsing import PARSE_ERRORS

#: The Message-ID's domain when the sender's address has none to lend.
FALLBACK_DOMAIN = "pymap-admin.invalid"
MAX_HEADER_LENGTH = 998  # RFC 5322's line limit, a generous bound for one field


def parse_addresses(value: str, *, single: bool) -> tuple[Address, ...]:
    """``value`` as addresses (``Name <a@example.org>, b@example.org``), or
    ValidationError saying what is wrong."""
    if len(value) > MAX_HEADER_LENGTH:
        raise ValidationError(
            f"This can be at most {MAX_HEADER_LENGTH} characters.", code="too_long"
        )
    if has_control(value):
        raise ValidationError(
            "An address cannot contain line breaks or other control characters.", code="control"
        )
    try:
        header = policy.default.header_factory("To", value)
        addresses: tuple[Address, ...] = tuple(getattr(header, "addresses", ()))
        valid = not header.defects and all(a.username and a.domain for a in addresses)
    except PARSE_ERRORS:
        addresses, valid = (), False
    if not addresses or not valid:
        example = "Name <name@example.org>" if single else "a@example.org, Name <b@example.org>"
        raise ValidationError(f"Enter an address such as {example}.", code="address")
    if single and len(addresses) > 1:
        raise ValidationError("Enter one address.", code="several")
    return addresses


def compose(*, sender: str, to: str, subject: str, body: str, now: datetime) -> bytes:
    """The message's bytes; ``sender`` and ``to`` have passed :func:`parse_addresses`."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    if to:
        message["To"] = to
    if subject:
        message["Subject"] = subject
    message["Date"] = format_datetime(now)
    (address,) = parse_addresses(sender, single=True)
    message["Message-ID"] = make_msgid(domain=address.domain or FALLBACK_DOMAIN)
    message.set_content(body.replace("\r\n", "\n"))
    return message.as_bytes()


def fields_of(raw: bytes) -> dict[str, str] | None:
    """From, To, Subject and the text of a message :func:`compose` wrote (to
    fill the form again); None if it is not such a message."""
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        if message.is_multipart() or message.get_content_type() != "text/plain":
            return None
        body = message.get_content()
        return {
            "compose_from": str(message.get("From", "")),
            "compose_to": str(message.get("To", "")),
            "compose_subject": str(message.get("Subject", "")),
            "compose_body": body,
        }
    except PARSE_ERRORS:
        return None
