"""Whether pymap can prepare a string for SASL (SASLprep, RFC 4013).

pymap passes user names and passwords through SASLprep (pysasl 1.2, with
unassigned code points refused) when it checks credentials. A string SASLprep
refuses (U+FFFD, private-use or unassigned characters, U+202E and other
display controls, mixed right-to-left and left-to-right text...) does not get
a refusal back: Login fails with gRPC UNKNOWN, an internal server error. The
panel applies the same rules first, so the operator sees a form error.
"""

from __future__ import annotations

import stringprep
import unicodedata

from django.core.exceptions import ValidationError

from adminpanel.lib.validators import validate_user_name

_PROHIBITED = (
    stringprep.in_table_a1,  # unassigned in Unicode 3.2
    stringprep.in_table_c21_c22,  # control characters
    stringprep.in_table_c3,  # private use
    stringprep.in_table_c4,  # non-character code points
    stringprep.in_table_c5,  # surrogates
    stringprep.in_table_c6,  # inappropriate for plain text
    stringprep.in_table_c7,  # inappropriate for canonical representation
    stringprep.in_table_c8,  # change display properties
    stringprep.in_table_c9,  # tagging characters
)


def saslprep_refuses(value: str) -> bool:
    """True if SASLprep (as pysasl applies it) would reject ``value``."""
    if value.isascii() and value.isprintable():
        # Nothing in U+0020..U+007E is mapped, normalized, prohibited or
        # right-to-left: the common case, without the tables (a 10,000-row
        # CSV's names cost 0.2 s of its upload through them).
        return False
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch for ch in value if not stringprep.in_table_b1(ch)
    )
    normalized = unicodedata.normalize("NFKC", mapped)
    if any(prohibited(ch) for ch in normalized for prohibited in _PROHIBITED):
        return True
    if any(stringprep.in_table_d1(ch) for ch in normalized):
        # Right-to-left text: no left-to-right characters, and it must start
        # and end with a right-to-left one (checked on the input, as pysasl does).
        if any(stringprep.in_table_d2(ch) for ch in normalized):
            return True
        return not (stringprep.in_table_d1(value[0]) and stringprep.in_table_d1(value[-1]))
    return False


def validate_saslprep(value: str, *, what: str = "This value") -> None:
    if value and saslprep_refuses(value):
        raise ValidationError(
            f"{what} contains characters the mail server cannot accept for signing in "
            "(such as private-use, unassigned or text-direction characters).",
            code="saslprep",
        )


def validate_login_name(value: str) -> None:
    """A user name pymap can log in with: the panel's name rules, then SASLprep."""
    validate_user_name(value)
    validate_saslprep(value, what="The user name")
