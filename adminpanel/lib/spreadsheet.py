"""CSV cells a spreadsheet will not run (CSV injection), for every export."""

from __future__ import annotations

#: What starts a formula in Excel, LibreOffice and Google Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """The cell as text a spreadsheet will not evaluate: a leading quote
    before anything that would start a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value
