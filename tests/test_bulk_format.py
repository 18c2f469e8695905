"""The bulk CSV format on its own: escapes, guards, lines and columns (no server)."""

from __future__ import annotations

import io

import pytest

from adminpanel.bulk import csvfile


def read(text: str | bytes) -> list[csvfile.CsvRow]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return csvfile.read_rows(io.BytesIO(data), max_rows=100)


def test_roles_and_params_take_backslash_escapes() -> None:
    (row,) = read("name,roles,params\nann,a\\;b;c,k=1\\;2;x\\=y=z;e=\n")
    assert row.roles == ["a;b", "c"]
    assert row.params == {"k": "1;2", "x=y": "z", "e": ""}
    assert csvfile.join_roles(row.roles) == "a\\;b;c"
    assert read(f"name,params\nann,{csvfile.join_params(row.params)}\n")[0].params == row.params


@pytest.mark.parametrize("cell", ["=1+1", "+x", "-x", "@x", "\tx", "'=x", "'plain", "plain"])
def test_a_guarded_cell_reads_back_as_it_was(cell: str) -> None:
    guarded = csvfile.guard(cell)
    assert not guarded.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert csvfile.unguard(guarded) == cell


def test_columns_are_found_by_name_and_missing_ones_keep_what_is_stored() -> None:
    (row,) = read("\ufeffAction,NAME\ndelete,bob\n")
    assert (row.name, row.action) == ("bob", "delete")
    assert not row.has_roles
    assert not row.has_params


def test_a_quoted_cell_over_two_lines_counts_from_its_first_line() -> None:
    rows = read('name,roles\nann,"a\nb"\nbob,\n')
    assert [(row.line, row.name) for row in rows] == [(2, "ann"), (4, "bob")]


def test_blank_lines_are_skipped_and_extra_cells_refuse_the_row() -> None:
    rows = read("name\n\nann\nbob,extra\n")
    assert [row.name for row in rows] == ["ann", "bob"]
    assert rows[1].problems == ["line 4: 2 cells, but the header names 1"]


def test_the_line_of_a_non_utf8_byte_is_named_even_past_the_first_chunk() -> None:
    data = b"name\n" + (b"u" * 40_000 + b"\n") * 3 + b"caf\xe9\n"  # past 64 KiB
    with pytest.raises(csvfile.FileRefused) as refused:
        read(data)
    assert "Line 5 is not UTF-8" in refused.value.message
