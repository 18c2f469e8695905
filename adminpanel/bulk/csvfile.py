"""The CSV format of bulk imports and exports: reading an upload, writing rows.

Columns (a header row is required; names are case-insensitive, in any order):

* ``name`` (required): the user name;
* ``password``: clear text; empty: generate one for a new user, and for an
  existing user "none given" (pymap cannot keep a stored password, so an
  existing user whose roles or params change needs it: PYMAP.md);
* ``roles``: separated by ``;``;
* ``params``: ``key=value`` pairs separated by ``;``;
* ``action``: ``create``, ``update``, ``upsert`` (the default) or ``delete``.

In ``roles`` and ``params`` a backslash escapes the next character: ``\\;``
is a ``;`` inside a value, ``\\=`` an ``=`` inside a key, ``\\\\`` a
backslash. Exports guard cells a spreadsheet would run as a formula with a
leading ``'`` (lib/spreadsheet.py); reading takes that quote off again, so an
export can be edited and imported back as it is.

The file must be UTF-8 (a byte-order mark is allowed). A problem with the
whole file (not UTF-8, no ``name`` column, too many rows) refuses the upload
and says where; a problem with one cell refuses that row, naming its line and
column.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

from adminpanel.lib.spreadsheet import FORMULA_PREFIXES, csv_safe

COLUMNS = ("name", "password", "roles", "params", "action")
ACTIONS = ("create", "update", "upsert", "delete")
DEFAULT_ACTION = "upsert"
#: Longest cell read at all; longer ones refuse the file (a row-level limit
#: for names and values comes after).
MAX_CELL = 100_000


class FileRefused(Exception):
    """The upload cannot be read as a bulk CSV; ``message`` says where and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class CsvRow:
    line: int
    name: str
    password: str
    roles: list[str]
    params: dict[str, str]
    action: str
    #: Whether the file has these columns (an update without one keeps what is stored).
    has_roles: bool = True
    has_params: bool = True
    #: "line 4, column params: ..." for each cell that cannot be used.
    problems: list[str] = field(default_factory=list)


def unguard(cell: str) -> str:
    """Take off the quote an export put before a formula-like cell (or a quote)."""
    if cell.startswith("'") and cell[1:].startswith((*FORMULA_PREFIXES, "'")):
        return cell[1:]
    return cell


def guard(cell: str) -> str:
    """The cell as written to every CSV the panel gives out: see :func:`unguard`."""
    if cell.startswith("'"):
        return "'" + cell
    return csv_safe(cell)


def unescape(text: str) -> str:
    """Undo the backslash escapes: ``a\\;b`` -> ``a;b``."""
    out: list[str] = []
    chars = iter(text)
    for char in chars:
        out.append(next(chars, "\\") if char == "\\" else char)
    return "".join(out)


def _split_pair(segment: str) -> tuple[str, str] | None:
    """``key=value`` at the first unescaped ``=``, escapes undone; None: no ``=``."""
    escaped = False
    for index, char in enumerate(segment):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "=":
            return unescape(segment[:index]), unescape(segment[index + 1 :])
    return None


def _escape(value: str, specials: str) -> str:
    out = value.replace("\\", "\\\\")
    for char in specials:
        out = out.replace(char, "\\" + char)
    return out


def join_roles(roles: Iterable[str]) -> str:
    return ";".join(_escape(role, ";") for role in roles)


def join_params(params: Mapping[str, str]) -> str:
    return ";".join(
        f"{_escape(key, ';=')}={_escape(value, ';')}" for key, value in sorted(params.items())
    )


def _segments(text: str) -> list[str]:
    """The ``;``-separated parts of a cell, with their escapes still in place."""
    parts: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            current.append(char + next(chars, ""))
        elif char == ";":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part != ""]


def _parse_params(cell: str, where: str, problems: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for segment in _segments(cell):
        pair = _split_pair(segment)
        if pair is None:
            problems.append(f"{where}: {segment[:40]!r} is not key=value")
            continue
        key, value = pair
        if key in params:
            problems.append(f"{where}: the parameter {key[:40]!r} is given twice")
        params[key] = value
    return params


def _parse_roles(cell: str) -> list[str]:
    return [unescape(segment) for segment in _segments(cell)]


def _header(cells: Sequence[str]) -> dict[str, int]:
    names = [cell.strip().lower() for cell in cells]
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise FileRefused(
            f"Line 1 (the header) names columns this format does not have: {shown}. "
            f"The columns are {', '.join(COLUMNS)}."
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise FileRefused(f"Line 1 (the header) names the column {repeated[0]!r} twice.")
    if "name" not in names:
        raise FileRefused(
            "Line 1 must be a header row naming the columns, with at least a 'name' column "
            f"(the columns are {', '.join(COLUMNS)})."
        )
    return {name: index for index, name in enumerate(names)}


def _text_lines(stream: IO[bytes]) -> Iterator[str]:
    """The file's lines as text; refuses bytes that are not UTF-8, naming the line."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
    line = 1
    pending = ""
    for chunk in iter(lambda: stream.read(64 * 1024), b""):
        try:
            text = pending + decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            before = pending + decoder.decode(chunk[: exc.start], final=False)
            raise FileRefused(
                f"Line {line + before.count(chr(10))} is not UTF-8 text. Save the file as "
                "UTF-8 (in a spreadsheet: CSV UTF-8) and upload it again."
            ) from exc
        *complete, pending = text.split("\n")
        for piece in complete:
            line += 1
            yield piece + "\n"
    try:
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise FileRefused(f"Line {line} ends in the middle of a UTF-8 character.") from exc
    if pending:
        yield pending


def read_rows(stream: IO[bytes], *, max_rows: int) -> list[CsvRow]:
    """Every data row of the upload (refuses the file with :class:`FileRefused`)."""
    reader = csv.reader(_text_lines(stream), strict=True)
    rows: list[CsvRow] = []
    try:
        header_cells = next(reader, None)
        if header_cells is None:
            raise FileRefused("The file is empty: it needs a header row and one row per user.")
        columns = _header(header_cells)
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            if not any(cell.strip() for cell in cells):
                continue  # blank lines
            if len(rows) >= max_rows:
                raise FileRefused(
                    f"The file has more than {max_rows:,} rows, the most one upload may have "
                    "(PANEL_BULK_MAX_ROWS). Split it."
                )
            rows.append(_row(line, cells, columns))
    except csv.Error as exc:
        raise FileRefused(
            f"Line {reader.line_num} cannot be read as CSV ({exc}). Check its quotes."
        ) from exc
    return rows


def _row(line: int, cells: list[str], columns: Mapping[str, int]) -> CsvRow:
    problems: list[str] = []
    if len(cells) > len(columns):
        problems.append(f"line {line}: {len(cells)} cells, but the header names {len(columns)}")

    def cell(column: str) -> str:
        index = columns.get(column)
        if index is None or index >= len(cells):
            return ""
        value = cells[index]
        if len(value) > MAX_CELL:
            problems.append(f"line {line}, column {column}: longer than {MAX_CELL:,} characters")
            return ""
        if "\x00" in value:
            problems.append(f"line {line}, column {column}: contains a NUL character")
            return value.replace("\x00", "")
        return value if column == "password" else unguard(value)

    action = cell("action").strip().lower() or DEFAULT_ACTION
    if action not in ACTIONS:
        problems.append(
            f"line {line}, column action: {action[:40]!r} is not one of {', '.join(ACTIONS)}"
        )
    return CsvRow(
        line=line,
        name=cell("name").strip(),
        password=cell("password"),
        roles=_parse_roles(cell("roles")),
        params=_parse_params(cell("params"), f"line {line}, column params", problems),
        action=action,
        has_roles="roles" in columns,
        has_params="params" in columns,
        problems=problems,
    )


def write(rows: Iterable[Sequence[str]], header: Sequence[str]) -> str:
    """CSV text with every cell guarded (:func:`guard`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([guard(cell) for cell in row])
    return out.getvalue()
