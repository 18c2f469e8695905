"""What the deliver form shows before sending a message: its headers, the
start of its text, its attachments and the start of its raw source.

The preview parses a copy with the ``email`` package and never changes the
bytes that are delivered. Parsing is bounded: Python's parser recurses once
per nested MIME part (about a thousand nested parts, 75 KB, exhaust the
interpreter's recursion limit) and costs about half a millisecond per part
(100,000 sibling parts, 4 MB, take over a minute). So the message is fed to
the parser in small pieces and feeding stops once it has made
:data:`MAX_PARTS` parts; the walk over the parts stops at :data:`MAX_DEPTH`
levels. When either bound cuts the preview short, :attr:`MessagePreview.partial`
says so in words.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.feedparser import BytesFeedParser
from email.message import EmailMessage
from email.policy import Policy
from email.policy import default as default_policy

from .parsing import PARSE_ERRORS, displayable, header_text, timestamp

#: The parser stops making parts after this many (which also bounds nesting).
MAX_PARTS = 100
#: Parts nested deeper than this are not looked at.
MAX_DEPTH = 20
#: The message is fed to the parser in pieces of this many bytes, so that it
#: is stopped soon after MAX_PARTS (a piece holds at most ~100 nested parts).
FEED_BYTES = 4096
#: Characters of the text part shown.
TEXT_LIMIT = 4000
#: Bytes of the raw source shown.
SOURCE_LIMIT = 32 * 1024


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class MessagePreview:
    size: int
    sender: str
    to: str
    cc: str
    subject: str
    date: str
    message_id: str
    attachments: tuple[Attachment, ...]
    #: Problems the parser noticed (missing header/body separator, bad
    #: encodings...); the message is still sent as it is.
    defects: int
    has_headers: bool
    #: The start of the first text part, fit to show (line breaks kept).
    text: str
    #: ``text/plain``, ``text/html`` (shown as source), or "" when there is none.
    text_type: str
    text_truncated: bool
    #: The start of the raw message, fit to show.
    source: str
    source_truncated: bool
    #: Why the preview does not show the whole message ("" when it does).
    partial: str


class _CountingFactory:
    """The parser's message factory: makes the parts and counts them."""

    def __init__(self) -> None:
        self.parts = 0

    def __call__(self, policy: Policy | None = None) -> EmailMessage:
        self.parts += 1
        return EmailMessage(policy=policy or default_policy)


def _parse(raw: bytes) -> tuple[EmailMessage, bool]:
    """The message as far as :data:`MAX_PARTS` parts; True if that cut it short."""
    factory = _CountingFactory()
    parser = BytesFeedParser(factory, policy=policy.default)
    factory.parts = 0  # the parser makes one to try the factory out
    cut = False
    for start in range(0, len(raw), FEED_BYTES):
        if factory.parts > MAX_PARTS:
            cut = True
            break
        parser.feed(raw[start : start + FEED_BYTES])
    message = parser.close()
    assert isinstance(message, EmailMessage)
    return message, cut


def _parts(message: EmailMessage) -> Iterator[tuple[int, EmailMessage]]:
    """Every part with its depth, in order, without recursion, to MAX_DEPTH."""
    stack: list[tuple[int, EmailMessage]] = [(0, message)]
    while stack:
        depth, part = stack.pop()
        yield depth, part
        if part.is_multipart() and depth < MAX_DEPTH:
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend((depth + 1, child) for child in reversed(children))


def readable_text(value: str, limit: int) -> tuple[str, bool]:
    """``value`` as lines an operator can read: line breaks and tabs kept,
    other control and format characters (bidi overrides included) shown as
    escapes, undecodable bytes as U+FFFD; cut to ``limit`` characters."""
    text = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = text.replace("\r\n", "\n")
    cut = len(text) > limit
    out: list[str] = []
    for char in text[:limit]:
        if char in "\n\t":
            out.append(char)
        elif unicodedata.category(char) in {"Cc", "Cf", "Cs", "Zl", "Zp"}:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out), cut


def _content(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except PARSE_ERRORS:
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


@dataclass
class _Walk:
    attachments: list[Attachment]
    text_part: EmailMessage | None = None
    html_part: EmailMessage | None = None
    too_deep: bool = False


def _walk(message: EmailMessage) -> _Walk:
    found = _Walk(attachments=[])
    for depth, part in _parts(message):
        if part.is_multipart():
            if depth >= MAX_DEPTH:
                found.too_deep = True
            continue
        try:
            filename = part.get_filename()
            content_type = part.get_content_type()
            is_attachment = part.is_attachment() or filename is not None
        except PARSE_ERRORS:
            continue
        if not is_attachment:
            if content_type == "text/plain" and found.text_part is None:
                found.text_part = part
            elif content_type == "text/html" and found.html_part is None:
                found.html_part = part
            continue
        try:
            payload = part.get_payload(decode=True)
        except PARSE_ERRORS:
            payload = None
        found.attachments.append(
            Attachment(
                filename=displayable(filename) if filename else "(no name)",
                content_type=displayable(content_type, 100),
                size=len(payload) if isinstance(payload, bytes) else 0,
            )
        )
    return found


def _partial_reason(cut: bool, too_deep: bool) -> str:
    reasons = []
    if cut:
        reasons.append(
            f"it has more than {MAX_PARTS} MIME parts, and only the first {MAX_PARTS} were read"
        )
    if too_deep:
        reasons.append(f"parts nested more than {MAX_DEPTH} levels deep are not shown")
    if not reasons:
        return ""
    return "This preview is partial: " + "; ".join(reasons) + "."


def preview(raw: bytes) -> MessagePreview:
    """What the deliver form shows before sending ``raw`` (which it leaves alone)."""
    message, cut = _parse(raw)
    date = header_text(message, "Date")
    try:
        stamp = timestamp(message.get("Date"))
    except PARSE_ERRORS:
        stamp = None
    if stamp is not None:
        date = f"{date} ({datetime.fromtimestamp(stamp, UTC):%Y-%m-%d %H:%M:%S} UTC)"
    walk = _walk(message)
    shown = walk.text_part or walk.html_part
    text, text_cut = readable_text(_content(shown), TEXT_LIMIT) if shown else ("", False)
    source, source_cut = readable_text(
        raw[:SOURCE_LIMIT].decode("utf-8", "surrogateescape"), SOURCE_LIMIT
    )
    return MessagePreview(
        size=len(raw),
        sender=header_text(message, "From"),
        to=header_text(message, "To"),
        cc=header_text(message, "Cc"),
        subject=header_text(message, "Subject"),
        date=date,
        message_id=header_text(message, "Message-ID"),
        attachments=tuple(walk.attachments),
        defects=sum(len(part.defects) for _, part in _parts(message)),
        has_headers=bool(message.keys()),
        text=text,
        text_type=shown.get_content_type() if shown is not None else "",
        text_truncated=text_cut,
        source=source,
        source_truncated=source_cut or len(raw) > SOURCE_LIMIT,
        partial=_partial_reason(cut, walk.too_deep),
    )
