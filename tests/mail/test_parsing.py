"""Splitting mboxes from disk, summaries, previews and flag parsing (no server)."""

from __future__ import annotations

import gzip
import io
import random
import zlib
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from adminpanel.mail import flags, parsing, preview
from adminpanel.mail.forms.fields import is_keyword_atom, parse_keywords


def split(tmp_path: Path, data: bytes) -> list[bytes]:
    path = tmp_path / "box.mbox"
    path.write_bytes(data)
    with path.open("rb") as stream:
        return [
            parsing.read_message(stream, found.offset, found.size)
            for found in parsing.split_mbox(path)
        ]


def test_messages_are_split_at_from_lines_after_an_empty_line(tmp_path: Path) -> None:
    data = (
        b"From a Thu Jan  1 00:00:00 1970\nSubject: 1\n\nbody\nFrom here on, not a separator\n\n"
        b"From b Thu Jan  1 00:00:00 1970\nSubject: 2\n\n\n\n"
        b"From c Thu Jan  1 00:00:00 1970\nSubject: 3\n"
    )
    assert split(tmp_path, data) == [
        b"Subject: 1\n\nbody\nFrom here on, not a separator\n",
        b"Subject: 2\n\n\n",
        b"Subject: 3\n",
    ]


def test_crlf_archives_keep_their_line_endings(tmp_path: Path) -> None:
    data = b"From a x\r\nSubject: 1\r\n\r\nb\r\n\r\nFrom b x\r\nSubject: 2\r\n\r\nc\r\n"
    assert split(tmp_path, data) == [b"Subject: 1\r\n\r\nb\r\n", b"Subject: 2\r\n\r\nc\r\n"]


def test_an_empty_message_is_found_with_size_zero(tmp_path: Path) -> None:
    assert split(tmp_path, b"From a x\n\nFrom b x\nSubject: 2\n") == [b"", b"Subject: 2\n"]


def test_separators_across_block_boundaries_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsing, "BLOCK_SIZE", 7)
    long_line = b"x" * 100 + b"From not at a line start\n"
    data = b"From a " + b"y" * 50 + b"\nSubject: 1\n\n" + long_line + b"\nFrom b x\nS: 2\n"
    assert split(tmp_path, data) == [b"Subject: 1\n\n" + long_line, b"S: 2\n"]


def _reference_split(data: bytes) -> list[bytes]:
    """The rule stated plainly, line by line: a From line after an empty line
    (or first in the file) starts a message; that empty line belongs to none."""
    lines = data.splitlines(keepends=True)
    messages: list[list[bytes]] = []
    for number, line in enumerate(lines):
        if line.startswith(b"From ") and (number == 0 or lines[number - 1] in (b"\n", b"\r\n")):
            if messages and messages[-1] and messages[-1][-1] in (b"\n", b"\r\n"):
                messages[-1].pop()
            messages.append([])
        else:
            messages[-1].append(line)
    if messages and messages[-1] and messages[-1][-1] in (b"\n", b"\r\n"):
        messages[-1].pop()
    return [b"".join(message) for message in messages]


@pytest.mark.parametrize("seed", range(40))
def test_splitting_agrees_with_the_plain_rule_on_random_archives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    pieces = [b"From x y\n", b"\n", b"\r\n", b"From ", b"text\n", b"a\r\n", b">From z\n", b"q"]
    data = b"From first line\n" + b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
    monkeypatch.setattr(parsing, "BLOCK_SIZE", rng.choice([1, 3, 8, 64, 4096]))
    assert split(tmp_path, data) == _reference_split(data)


def test_a_file_without_a_from_line_is_not_an_mbox(tmp_path: Path) -> None:
    with pytest.raises(parsing.ArchiveError, match="does not start with a 'From ' line"):
        split(tmp_path, b"Subject: plain message\n\nbody\n")


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Tue, 01 Jul 2003 10:52:37 +0200", 1057049557),
        ("Tue, 01 Jul 2003 10:52:37 -0000", 1057056757),  # no zone: taken as UTC
        ("yesterday at noon", None),
        ("Tue, 01 Jul 1903 10:52:37 +0000", None),  # before 1970: pymap cannot store it
    ],
)
def test_summaries_read_the_date_header(date: str, expected: int | None) -> None:
    summary = parsing.summarize_headers(
        f"Subject: Hi\r\nMessage-ID: <a@b>\r\nDate: {date}\r\n".encode()
    )
    assert (summary.subject, summary.message_id, summary.date) == ("Hi", "<a@b>", expected)


def test_header_block_reading_stops_at_the_empty_line() -> None:
    stream = io.BytesIO(b"A: 1\r\nB: 2\r\n\r\nbody\r\n")
    assert parsing.read_header_block(stream) == b"A: 1\r\nB: 2\r\n"


def test_displayable_shows_controls_bidi_and_bad_bytes_visibly() -> None:
    assert parsing.displayable("a\u202eb\x1bc\x00d") == "a\\u202eb\\x1bc\\x00d"
    assert parsing.displayable("caf\udce9") == "caf\ufffd"  # a latin-1 byte
    assert parsing.displayable("caf\udcc3\udca9") == "café"  # raw UTF-8 (RFC 6532)
    assert parsing.displayable("x" * 400, 10) == "x" * 9 + "…"


def test_preview_unfolds_headers_and_keeps_what_the_parser_would_drop() -> None:
    shown = preview.preview(
        b"Subject: folded\r\n  over two lines\r\nFrom: <b>not an address</b>\r\n\r\nbody"
    )
    assert shown.subject == "folded over two lines"
    assert shown.sender == "<b>not an address</b>"
    assert (shown.text, shown.text_type, shown.partial) == ("body", "text/plain", "")


def test_preview_of_a_message_without_headers() -> None:
    shown = preview.preview(b"\x00\x01 just bytes")
    assert not shown.has_headers
    assert shown.size == 13
    assert shown.attachments == ()
    assert shown.source == "\\x00\\x01 just bytes"


def test_preview_text_keeps_lines_and_shows_controls_and_bad_bytes() -> None:
    text, cut = preview.readable_text("one\r\ntwo\tcols\x1b[31m\u202eend caf\udce9", 100)
    assert (text, cut) == ("one\ntwo\tcols\\x1b[31m\\u202eend caf\ufffd", False)
    assert preview.readable_text("x" * 50, 10) == ("x" * 10, True)


def test_preview_shows_an_html_part_when_there_is_no_plain_text() -> None:
    shown = preview.preview(
        b"Content-Type: multipart/alternative; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/html\r\n\r\n<p>Hi</p>\r\n--b--\r\n"
    )
    assert (shown.text_type, shown.text.strip()) == ("text/html", "<p>Hi</p>")


def test_preview_cuts_long_text_and_source() -> None:
    shown = preview.preview(b"Subject: long\r\n\r\n" + b"y" * (preview.SOURCE_LIMIT + 10))
    assert shown.text_truncated
    assert len(shown.text) == preview.TEXT_LIMIT
    assert shown.source_truncated
    assert shown.source.endswith("yyy")
    assert len(shown.source) <= preview.SOURCE_LIMIT


def test_gunzip_stops_at_the_limit(tmp_path: Path) -> None:
    source = tmp_path / "a.gz"
    source.write_bytes(gzip.compress(b"From x\n" + b"a" * 10_000))
    with pytest.raises(parsing.ArchiveError, match="larger than the import limit"):
        parsing.gunzip(source, tmp_path / "out", limit=5_000)
    assert parsing.gunzip(source, tmp_path / "out", limit=20_000) == 10_007


def test_gunzip_refuses_a_damaged_file(tmp_path: Path) -> None:
    source = tmp_path / "a.gz"
    source.write_bytes(gzip.compress(b"From x\n" * 1000)[:-20])
    with pytest.raises(parsing.ArchiveError, match="damaged or incomplete"):
        parsing.gunzip(source, tmp_path / "out", limit=10**6)


def test_keywords_are_atoms_and_system_flags_are_normalised() -> None:
    assert parse_keywords("$Label1 \\seen Project-X $Label1 \\FLAGGED") == [
        "$Label1",
        "\\Seen",
        "Project-X",
        "\\Flagged",
    ]
    assert is_keyword_atom("$Junk")
    for bad in ("a(b", "a]b", 'a"b', "a%b", "a*b", "a{b", "caf\u00e9", "a\x7fb"):
        assert not is_keyword_atom(bad)
    with pytest.raises(ValidationError):
        parse_keywords("\\Recent")
    with pytest.raises(ValidationError):
        parse_keywords("\\Custom")


def _bomb(path: Path, size: int) -> None:
    """An mbox of one message of ``size`` zero bytes, gzipped (about 1,000 to 1)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    block = b"\0" * (1024 * 1024)
    with path.open("wb") as out:
        out.write(packer.compress(b"From bomb@example.invalid Mon Jan  1 00:00:00 2024\n\n"))
        for _ in range(size // len(block)):
            out.write(packer.compress(block))
        out.write(packer.flush())


def test_gunzip_refuses_a_compression_bomb_early(tmp_path: Path) -> None:
    source, target = tmp_path / "bomb.mbox.gz", tmp_path / "out"
    _bomb(source, 256 * 1024 * 1024)
    assert source.stat().st_size < 1024 * 1024
    with pytest.raises(parsing.ArchiveError, match="expands more than 100 times"):
        parsing.gunzip(source, target, limit=1024**3, max_ratio=100)
    # Refused after the floor and one chunk, not at the 1 GiB limit.
    assert target.stat().st_size <= parsing.RATIO_FLOOR + parsing.COPY_CHUNK


def test_gunzip_lets_ordinary_mail_through_the_ratio(tmp_path: Path) -> None:
    lines = b"".join(
        b"Line %d of a message that repeats itself a little.\n" % i for i in range(400_000)
    )
    source = tmp_path / "a.gz"
    source.write_bytes(gzip.compress(b"From x\n" + lines))
    written = parsing.gunzip(source, tmp_path / "out", limit=1024**3, max_ratio=100)
    assert written > parsing.RATIO_FLOOR


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (b"Status: RO\r\n", ("\\Seen",)),
        (b"Status: O\r\n", ()),
        (
            b"Status: R\r\nX-Status: DTFA\r\n",
            ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"),
        ),
        (b"X-Status: af\r\n", ("\\Answered", "\\Flagged")),
        (b"X-Status: Q\r\n", ()),
        (b"Subject: none\r\n", ()),
    ],
)
def test_status_headers_give_system_flags(headers: bytes, expected: tuple[str, ...]) -> None:
    assert parsing.summarize_headers(headers).flags == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("1.M2P3.host:2,FRS", ("\\Seen", "\\Answered", "\\Flagged")),
        ("1.M2P3.host!2,DT.eml", ("\\Deleted", "\\Draft")),
        ("1.M2P3.host;2,P.EML", ()),
        ("1.M2P3.host:2,abc", ()),
        ("report:2,S.pdf.eml", ()),
        ("notes.eml", ()),
        ("a:1,S", ()),
    ],
)
def test_maildir_names_give_system_flags(name: str, expected: tuple[str, ...]) -> None:
    assert flags.from_maildir_name(name) == expected
