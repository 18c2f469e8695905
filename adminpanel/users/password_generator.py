"""Passwords the panel makes up for an operator (``secrets``, never ``random``).

Four groups of five characters from an alphabet without look-alikes (no 0/o,
1/l/i), joined by dashes: easy to read out or type from a screen, about 99
bits of entropy. The panel shows such a password once, on the page answering
the save (no-store), and never keeps, logs or audits it.
"""

from __future__ import annotations

import secrets

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
GROUPS = 4
GROUP_LENGTH = 5


def generate_password() -> str:
    return "-".join(
        "".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS)
    )
