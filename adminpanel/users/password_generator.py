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
    # One draw below 31**20, read as 20 base-31 digits: the same uniform
    # choice as 20 ``secrets.choice`` calls, with one read of the system's
    # random source instead of 20 (a bulk plan makes one per new user).
    number = secrets.randbelow(len(ALPHABET) ** (GROUPS * GROUP_LENGTH))
    characters = []
    for _ in range(GROUPS * GROUP_LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        characters.append(ALPHABET[digit])
    return "-".join(
        "".join(characters[start : start + GROUP_LENGTH])
        for start in range(0, GROUPS * GROUP_LENGTH, GROUP_LENGTH)
    )
