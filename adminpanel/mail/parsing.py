"""Reading messages without changing them: previews, header summaries, and
splitting mbox archives streamed from disk.

Nothing here alters the bytes that are delivered. Previews parse a copy with
the ``email`` package (``policy.default``); the text they return is made safe
to display (undecodable bytes and control characters become visible marks),
and templates escape it as usual.

mbox archives are split without rewriting anything: a message starts after a
line beginning with ``From `` that opens the file or follows an empty line,
and that empty line separates messages and is part of neither. The bytes in
between are delivered as they are, line endings included. The ``>From ``
quoting mbox writers add is left in place, as Python's ``mailbox`` and most
mail clients do: undoing it is ambiguous (mboxo writers quote only ``From ``,
mboxrd writers also ``>From ``), and guessing wrong would alter messages.
"""

from __future__ import annotations

import email.errors
import email.header
import email.utils
import gzip
import re
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path
from typing import BinaryIO

#: Display text is cut to this many characters.
DISPLAY_LIMIT = 300
#: Header blocks longer than this are summarised from their first part.
HEADER_LIMIT = 64 * 1024
#: Lines are read from archives in pieces of at most this many bytes, so a
#: file without line breaks cannot fill the memory.
LINE_LIMIT = 1024 * 1024
COPY_CHUNK = 1024 * 1024
#: The latest internal date pymap can store (its datetime tops out at 9999).
MAX_TIMESTAMP = 253402300799

_FOLDING = re.compile(r"\r?\n(?=[ \t])")
# Exceptions the email package raises on malformed input besides its own.
_PARSE_ERRORS = (
    email.errors.MessageError,
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    LookupError,
)


class ArchiveError(Exception):
    """An upload is not what it claims to be; ``message`` is fit to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- text fit for display ---------------------------------------------------------


def displayable(value: object, limit: int = DISPLAY_LIMIT) -> str:
    """``value`` as text an operator can read and a page can carry safely.

    Bytes the parser could not decode (surrogate escapes) are decoded as UTF-8
    where they form UTF-8 (RFC 6532 headers) and shown as U+FFFD otherwise;
    control and format characters (including bidi overrides) are shown as
    ``\\xNN``/``\\uNNNN`` escapes so they cannot disguise the text.
    """
    text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    out: list[str] = []
    for char in text:
        if char == "\t":
            out.append(" ")
        elif unicodedata.category(char) in {"Cc", "Cf", "Cs", "Zl", "Zp"}:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    result = " ".join("".join(out).split())  # folded headers: one line
    if len(result) > limit:
        result = result[: limit - 1] + "…"
    return result


def _header(message: Message, name: str) -> str:
    """The first ``name`` header as written, with RFC 2047 words decoded.

    The raw value is shown rather than ``policy.default``'s parsed one: for a
    malformed address the parser keeps only what it understood, and the
    preview should show what the message really says.
    """
    wanted = name.lower()
    for key, value in message.raw_items():
        if key.lower() != wanted:
            continue
        raw = _FOLDING.sub("", value)
        try:
            value = str(email.header.make_header(email.header.decode_header(raw)))
        except _PARSE_ERRORS:
            value = raw
        return displayable(value)
    return ""


def _timestamp(date_header: object) -> int | None:
    """Epoch seconds of a Date header, or None if it does not parse."""
    if date_header is None:
        return None
    parsed = getattr(date_header, "datetime", None)
    try:
        if parsed is None:
            parsed = email.utils.parsedate_to_datetime(str(date_header))
        if parsed.tzinfo is None:  # "-0000": no zone information
            parsed = parsed.replace(tzinfo=UTC)
        stamp = int(parsed.timestamp())
    except (*_PARSE_ERRORS, OverflowError):
        return None
    return stamp if 0 <= stamp <= MAX_TIMESTAMP else None


# --- the deliver form's preview ---------------------------------------------------------


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


def _attachments(message: EmailMessage) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        try:
            filename = part.get_filename()
            is_attachment = part.is_attachment() or filename is not None
            if not is_attachment:
                continue
            payload = part.get_payload(decode=True)
            size = len(payload) if isinstance(payload, bytes) else 0
            content_type = part.get_content_type()
        except _PARSE_ERRORS:
            continue
        found.append(
            Attachment(
                filename=displayable(filename) if filename else "(no name)",
                content_type=displayable(content_type, 100),
                size=size,
            )
        )
    return tuple(found)


def _defect_count(message: EmailMessage) -> int:
    return sum(len(part.defects) for part in message.walk())


def preview(raw: bytes) -> MessagePreview:
    """What the deliver form shows before sending ``raw`` (which it leaves alone)."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    date = _header(message, "Date")
    try:
        stamp = _timestamp(message.get("Date"))
    except _PARSE_ERRORS:
        stamp = None
    if stamp is not None:
        date = f"{date} ({datetime.fromtimestamp(stamp, UTC):%Y-%m-%d %H:%M:%S} UTC)"
    return MessagePreview(
        size=len(raw),
        sender=_header(message, "From"),
        to=_header(message, "To"),
        cc=_header(message, "Cc"),
        subject=_header(message, "Subject"),
        date=date,
        message_id=_header(message, "Message-ID"),
        attachments=_attachments(message),
        defects=_defect_count(message),
        has_headers=bool(message.keys()),
    )


# --- summaries for the import report ----------------------------------------------------


@dataclass(frozen=True)
class HeaderSummary:
    subject: str
    message_id: str
    #: The Date header in epoch seconds, if it parses.
    date: int | None


def summarize_headers(header_block: bytes) -> HeaderSummary:
    """Subject, Message-ID and Date from the start of a message."""
    headers = BytesHeaderParser(policy=policy.default).parsebytes(header_block[:HEADER_LIMIT])
    try:
        date = _timestamp(headers.get("Date"))
    except _PARSE_ERRORS:
        date = None
    return HeaderSummary(
        subject=_header(headers, "Subject")[:200],
        message_id=_header(headers, "Message-ID")[:200],
        date=date,
    )


def read_header_block(stream: BinaryIO) -> bytes:
    """The header lines at the start of ``stream``, up to the empty line (bounded)."""
    block = bytearray()
    while len(block) < HEADER_LIMIT:
        line = stream.readline(HEADER_LIMIT - len(block))
        if not line or line in (b"\n", b"\r\n"):
            break
        block += line
    return bytes(block)


# --- uploads ----------------------------------------------------------------------


def is_gzip(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(2) == b"\x1f\x8b"


def is_mbox(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(5) == b"From "


def gunzip(source: Path, target: Path, limit: int) -> int:
    """Uncompress ``source`` into ``target``, streaming; at most ``limit`` bytes."""
    written = 0
    try:
        with gzip.open(source, "rb") as compressed, target.open("wb") as out:
            while chunk := compressed.read(COPY_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise ArchiveError(
                        f"Uncompressed, the archive is larger than the import limit "
                        f"({limit} bytes)."
                    )
                out.write(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise ArchiveError("The .gz file is damaged or incomplete.") from exc
    return written


@dataclass(frozen=True)
class SplitMessage:
    """One message of an mbox: ``size`` bytes at ``offset`` (before unquoting)."""

    offset: int
    size: int
    summary: HeaderSummary


def _is_blank(line: bytes) -> bool:
    return line in (b"\n", b"\r\n")


def split_mbox(path: Path) -> Iterator[SplitMessage]:
    """Find the messages of an mbox file, reading it once, in pieces.

    Raises :class:`ArchiveError` if the file does not start with a
    ``From `` line.
    """
    with path.open("rb") as stream:
        first = stream.readline(LINE_LIMIT)
        if not first.startswith(b"From "):
            raise ArchiveError(
                "This is not an mbox archive: it does not start with a 'From ' line."
            )
        at_line_start = first.endswith(b"\n")
        _skip_rest_of_line(stream, at_line_start)
        at_line_start = True
        position = stream.tell()
        start = position
        headers = bytearray()
        in_headers = True
        previous_blank = 0  # length of the empty line just read, if any
        while True:
            line = stream.readline(LINE_LIMIT)
            if not line:
                break
            line_start_offset = position
            position += len(line)
            starts_line = at_line_start
            at_line_start = line.endswith(b"\n")
            if starts_line and previous_blank and line.startswith(b"From "):
                size = line_start_offset - previous_blank - start
                yield SplitMessage(start, max(0, size), summarize_headers(bytes(headers)))
                _skip_rest_of_line(stream, at_line_start)
                position = stream.tell()
                at_line_start = True
                start = position
                headers.clear()
                in_headers = True
                previous_blank = 0
                continue
            blank = starts_line and _is_blank(line)
            previous_blank = len(line) if blank else 0
            if in_headers:
                if blank:
                    in_headers = False
                elif len(headers) < HEADER_LIMIT:
                    headers += line[: HEADER_LIMIT - len(headers)]
        size = position - previous_blank - start
        yield SplitMessage(start, max(0, size), summarize_headers(bytes(headers)))


def _skip_rest_of_line(stream: BinaryIO, at_line_start: bool) -> None:
    """After a ``From `` line read only in part, read on to its end."""
    while not at_line_start:
        piece = stream.readline(LINE_LIMIT)
        if not piece:
            return
        at_line_start = piece.endswith(b"\n")


def read_message(stream: BinaryIO, offset: int, size: int) -> bytes:
    """The bytes to deliver for one message of an import's file."""
    stream.seek(offset)
    data = stream.read(size)
    if len(data) != size:
        raise ArchiveError("The import's file is shorter than when it was split.")
    return data
