"""Keeping tokens, passwords and hashes out of logs and error reports.

The first line of defence is not to log them at all: views mark their secrets
with ``sensitive_post_parameters`` / ``sensitive_variables``, the session token
never sits in a template context, and settings.LOGGING pins the libraries that
would log request bodies, SQL parameters or HTTP/2 headers below DEBUG. This
module is the second line: whatever still reaches a log line or an error
report passes through it.

* :class:`RedactingFormatter` rewrites every formatted log line (message and
  traceback) so a pymap token or a password hash in it is replaced.
* :class:`PanelExceptionReporterFilter` is Django's error-report filter made
  stricter: it is active in DEBUG too, hides every variable, POST field, cookie
  and dictionary entry whose name says it holds a secret (``token``,
  ``password``, the session cookie...) whether or not a view remembered to
  mark it, and replaces token- or hash-shaped values wherever they appear.
"""

from __future__ import annotations

import logging
import re
from collections.abc import ItemsView
from types import FrameType
from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from django.utils.regex_helper import _lazy_re_compile
from django.views.debug import SafeExceptionReporterFilter

#: A serialized pymap macaroon (version 1: url-safe base64 of packets that
#: start "000"), or a password hash as pymap's passlib stores it.
SECRET_VALUE = re.compile(
    r"MDA[A-Za-z0-9_\-+/]{16,}=*"
    r"|\$(?:pbkdf2[\w-]*|argon2\w*|2[aby]|bcrypt[\w-]*|scrypt|sha(?:256|512)_crypt|[156])"
    r"\$[^\s'\"<>]+"
)
#: A secret field shown in an object's repr: protobuf text (``secret: "..."``),
#: a dataclass (``password='...'``), a dict (``'password': ...``).
SECRET_FIELD = re.compile(r"\b(?:secret|password|token)\w*['\"]?\s*[:=]", re.I)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """``text`` with every token- or hash-shaped substring replaced."""
    return SECRET_VALUE.sub(REDACTED, text)


class RedactingFormatter(logging.Formatter):
    """A log formatter whose output never contains a token or a hash."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class PanelExceptionReporterFilter(SafeExceptionReporterFilter):
    """Cleanses error reports (the DEBUG page, mailed reports, logged reports)."""

    hidden_settings = _lazy_re_compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HASH|MACAROON|CREDENTIAL|COOKIE|SESSION",
        flags=re.I,
    )

    def is_active(self, request: HttpRequest | None) -> bool:
        # Django only filters when DEBUG is off; a developer's screen or a
        # shared log is no place for an operator's token either.
        return True

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str) and SECRET_VALUE.search(cleansed):
            return self.cleansed_substitute
        return cleansed

    def get_post_parameters(self, request: HttpRequest | None) -> dict[str, Any]:
        parameters = super().get_post_parameters(request)
        if isinstance(parameters, MultiValueDict):
            return self._cleanse_multivaluedict(parameters)
        return parameters

    def get_traceback_frame_variables(
        self, request: HttpRequest | None, tb_frame: FrameType
    ) -> ItemsView[str, Any]:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return {name: self._cleanse_variable(name, value) for name, value in variables}.items()

    def _secret(self, name: str, value: Any) -> bool:
        if self.hidden_settings.search(name):
            return True
        return isinstance(value, str) and bool(SECRET_VALUE.search(value))

    def _cleanse_multivaluedict(self, values: MultiValueDict[str, Any]) -> MultiValueDict[str, Any]:
        cleansed = values.copy()
        for name in list(cleansed):
            if any(self._secret(name, value) for value in cleansed.getlist(name)):
                cleansed.setlist(name, [self.cleansed_substitute])
        return cleansed

    def _cleanse_variable(self, name: str, value: Any) -> Any:
        if self._secret(name, value):
            return self.cleansed_substitute
        if isinstance(value, MultiValueDict):
            return self._cleanse_multivaluedict(value)
        if isinstance(value, dict | list | tuple):
            # Entries named like secrets are starred; what is left is shown.
            cleansed = self.cleanse_setting(name, value)
            suspicious = [SECRET_VALUE]
        else:
            # Any other object shows as its repr: one that carries a secret (a
            # protobuf request, gRPC metadata, bytes) is hidden whole.
            cleansed = value
            suspicious = [SECRET_VALUE, SECRET_FIELD]
        try:
            shown = repr(cleansed)
        except Exception:  # noqa: BLE001 - a broken __repr__ must not break the report
            return self.cleansed_substitute
        if any(pattern.search(shown) for pattern in suspicious):
            return self.cleansed_substitute
        return cleansed
