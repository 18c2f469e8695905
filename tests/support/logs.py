"""What the tests read back from the panel's logs."""

from __future__ import annotations

import logging

import pytest

from adminpanel.lib.json_logs import JsonFormatter
from adminpanel.lib.redaction import RedactingFormatter


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record as the raw message, its traceback, and as the
    panel's own formatters write it (plain and PANEL_LOG_FORMAT=json)."""
    plain = logging.Formatter()
    panel = RedactingFormatter("%(levelname)s %(name)s %(message)s")
    as_json = JsonFormatter()
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        if record.exc_info:
            parts.append(plain.formatException(record.exc_info))
        parts.append(panel.format(record))
        parts.append(as_json.format(record))
    return "\n".join(parts)
