"""Log lines for machines: ``PANEL_LOG_FORMAT=json``, one JSON object a line.

Each object has ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``,
and what is known of the request being served: ``request_id``, ``operator``,
``server``, ``view`` (adminpanel/lib/request_context.py), and on the request
line ``status`` and ``duration`` (seconds). A traceback is in ``exc``.

Values are redacted before they are serialised (adminpanel/lib/redaction.py),
so the output stays valid JSON and holds no token or hash.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from . import request_context
from .redaction import redact

#: Attributes a record may carry from ``extra=`` that the JSON line keeps.
EXTRA_FIELDS = ("status", "duration", "method", "path")


class RequestContextFilter(logging.Filter):
    """Puts the current request's id, operator, server and view on every record,
    for both formats (the plain one can show them with ``%(request_id)s``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = request_context.current()
        for name in ("request_id", "operator", "server", "view"):
            if not getattr(record, name, ""):
                setattr(record, name, getattr(context, name))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in ("request_id", "operator", "server", "view"):
            value = getattr(record, name, "")
            if value:
                line[name] = redact(str(value))
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc"] = redact(record.exc_text)
        return json.dumps(line, ensure_ascii=False, default=str)
