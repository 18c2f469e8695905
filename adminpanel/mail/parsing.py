"""Reading messages without changing them: text fit for display, header
summaries, and splitting mbox archives streamed from disk (the deliver form's
preview is in :mod:`adminpanel.mail.preview`).

Nothing here alters the bytes that are delivered. Summaries parse a copy with
the ``email`` package (``policy.compat32``); the text they return is made safe
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
import io
import os
import re
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import BinaryIO

from . import flags

#: Display text is cut to this many characters.
DISPLAY_LIMIT = 300
#: Header blocks longer than this are summarised from their first part.
HEADER_LIMIT = 64 * 1024
#: Archives are searched in blocks of this many bytes.
BLOCK_SIZE = 4 * 1024 * 1024
#: A ``From `` line longer than this is refused (they are ~60 bytes).
FROM_LINE_LIMIT = 64 * 1024
COPY_CHUNK = 1024 * 1024
#: The latest internal date pymap can store (its datetime tops out at 9999).
MAX_TIMESTAMP = 253402300799

#: A line's end, an empty line, then a From line: where one message ends.
_SEPARATOR = re.compile(rb"\n\r?\nFrom ")
_SEPARATOR_MAX = len(b"\n\r\nFrom ")
_FOLDING = re.compile(r"\r?\n(?=[ \t])")
# Exceptions the email package raises on malformed input besides its own.
PARSE_ERRORS = (
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


def header_text(message: Message, name: str) -> str:
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
        except PARSE_ERRORS:
            value = raw
        return displayable(value)
    return ""


def timestamp(date_header: object) -> int | None:
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
    except (*PARSE_ERRORS, OverflowError):
        return None
    return stamp if 0 <= stamp <= MAX_TIMESTAMP else None


# --- summaries for the import report ----------------------------------------------------


@dataclass(frozen=True)
class HeaderSummary:
    subject: str
    message_id: str
    #: The Date header in epoch seconds, if it parses.
    date: int | None
    #: Flags the Status and X-Status headers name (mbox archives).
    flags: tuple[str, ...] = ()


def summarize_headers(header_block: bytes) -> HeaderSummary:
    """Subject, Message-ID, Date and Status flags from the start of a message."""
    # compat32 keeps header values as strings (parsed here only as needed):
    # several times faster than policy.default when splitting big archives.
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(header_block[:HEADER_LIMIT])
    try:
        date = timestamp(headers.get("Date"))
    except PARSE_ERRORS:
        date = None
    return HeaderSummary(
        subject=header_text(headers, "Subject")[:200],
        message_id=header_text(headers, "Message-ID")[:200],
        date=date,
        flags=flags.from_headers(headers),
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


#: Uncompressed bytes written before the compression ratio is judged: small
#: archives may be as repetitive as they like, they cost nothing.
RATIO_FLOOR = 8 * 1024 * 1024


#: The most compressed bytes gzip gets per read: see :class:`_SmallReads`.
GZIP_READ = 8 * 1024


class _SmallReads:
    """A file whose reads return at most :data:`GZIP_READ` bytes, so that its
    position says how much gzip has really taken. Since Python 3.12 gzip reads
    its input 128 KiB at a time: the ratio below then let a 1,000-to-1 bomb
    write 12 MiB before it was refused, not 9 MiB as on 3.11."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw

    def read(self, size: int = -1) -> bytes:
        return self.raw.read(GZIP_READ if size < 0 else min(size, GZIP_READ))

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()


def gunzip(source: Path, target: Path, limit: int, *, max_ratio: float | None = None) -> int:
    """Uncompress ``source`` into ``target``, streaming; at most ``limit`` bytes.

    With ``max_ratio``, refuse as soon as the output grows past that many
    times the compressed bytes read so far (once past :data:`RATIO_FLOOR`):
    a "zip bomb" of a few MB that would expand to the whole limit is stopped
    after a few MB written, not after the limit.
    """
    written = 0
    try:
        with (
            source.open("rb") as raw,
            gzip.GzipFile(fileobj=_SmallReads(raw), mode="rb") as compressed,
            target.open("wb") as out,
        ):
            while chunk := compressed.read(COPY_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise ArchiveError(
                        f"Uncompressed, the archive is larger than the import limit "
                        f"({limit} bytes)."
                    )
                if (
                    max_ratio is not None
                    and written > RATIO_FLOOR
                    and written > max_ratio * max(raw.tell(), 1)
                ):
                    raise ArchiveError(
                        f"The .gz file expands more than {max_ratio:g} times (a compression "
                        "bomb, or data no mailbox holds): the panel does not uncompress it."
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


def _summary_at(fd: int, offset: int, size: int) -> HeaderSummary:
    head = os.pread(fd, min(size, HEADER_LIMIT), offset)
    return summarize_headers(read_header_block(io.BytesIO(head)))


def split_mbox(path: Path) -> Iterator[SplitMessage]:
    """Find the messages of an mbox file, reading it once, in blocks.

    A separator is found with one regular expression over each block: the
    newline that ends a line, an empty line, then ``From `` (the search
    starts on the newline of the previous ``From `` line, so an empty
    message is found too). Memory stays around one block whatever the file
    holds. Raises :class:`ArchiveError` if the file does not start with a
    ``From `` line.
    """
    with path.open("rb") as stream:
        first = stream.readline(FROM_LINE_LIMIT)
        if not first.startswith(b"From "):
            raise ArchiveError(
                "This is not an mbox archive: it does not start with a 'From ' line."
            )
        if not first.endswith(b"\n"):
            raise ArchiveError("The archive's first 'From ' line is too long or unfinished.")
        fd = stream.fileno()
        start = len(first)  # where the current message's bytes begin
        base = start - 1  # file offset of buffer[0]: the From line's newline
        stream.seek(base)
        buffer = b""
        position = 0  # where the next search starts in the buffer
        at_end = False
        while not at_end:
            block = stream.read(BLOCK_SIZE)
            at_end = not block
            buffer += block
            while True:
                found = _SEPARATOR.search(buffer, position)
                if found is None:
                    break
                line_end = buffer.find(b"\n", found.end())
                if line_end < 0 and not at_end:
                    if len(buffer) - found.start() > FROM_LINE_LIMIT + BLOCK_SIZE:
                        raise ArchiveError("A 'From ' line in the archive is too long.")
                    break  # the From line continues in the next block
                end = base + found.start() + 1
                size = max(0, end - start)
                yield SplitMessage(start, size, _summary_at(fd, start, size))
                if line_end < 0:  # the file ends inside a From line
                    start, position = base + len(buffer), len(buffer)
                    break
                start = base + line_end + 1
                position = line_end  # its newline may begin the next separator
            keep = min(position, max(0, len(buffer) - _SEPARATOR_MAX + 1))
            if found is not None:
                keep = min(keep, found.start())
            buffer = buffer[keep:]
            base += keep
            position -= keep
        end = base + len(buffer)
        # The empty line after the last message is a separator as well (an
        # empty line: "\n" or "\r\n" right after the previous line's "\n").
        for blank in (b"\n", b"\r\n"):
            if buffer.endswith(b"\n" + blank) and end - len(blank) >= start:
                end -= len(blank)
                break
        size = max(0, end - start)
        yield SplitMessage(start, size, _summary_at(fd, start, size))


def read_message(stream: BinaryIO, offset: int, size: int) -> bytes:
    """The bytes to deliver for one message of an import's file."""
    stream.seek(offset)
    data = stream.read(size)
    if len(data) != size:
        raise ArchiveError("The import's file is shorter than when it was split.")
    return data
