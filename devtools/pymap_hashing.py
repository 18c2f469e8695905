"""How much work pymap puts into each password hash: the ``--passlib-cfg``
file :class:`~devtools.pymap_process.PymapProcess` writes for it.

pymap hashes a password on every SetUser that carries one and checks one on
every Login, inside its event loop. Without passlib it uses pysasl's
``BuiltinHash``: PBKDF2-SHA256 with 500,000 rounds, about 150 ms of CPU per
hash on these machines. The test suite makes thousands of them, so its
servers hash with fewer rounds (``PYMAP_HASH_ROUNDS``, set for pytest in
pyproject.toml), as Django's own test advice does with its password hashers:
the same scheme and the same stored format (``$pbkdf2-sha256$<rounds>$...``),
a lower cost. The demo, the benchmarks and ``devtools.pymap_server`` keep
pymap's own cost.
"""

from __future__ import annotations

import os
from pathlib import Path

#: pysasl ``BuiltinHash``'s rounds: what pymap 0.36.7 uses without passlib.
PYMAP_DEFAULT_ROUNDS = 500_000
#: What a test server uses (``PYMAP_HASH_ROUNDS`` in pyproject.toml).
TEST_ROUNDS = 1_000
CONFIG_NAME = "passlib.cfg"


def rounds_from_env() -> int:
    """``$PYMAP_HASH_ROUNDS`` if set, else pymap's own default."""
    raw = os.environ.get("PYMAP_HASH_ROUNDS", "").strip()
    if not raw:
        return PYMAP_DEFAULT_ROUNDS
    rounds = int(raw) if raw.isdigit() else 0
    if rounds < 1:
        raise ValueError(f"PYMAP_HASH_ROUNDS must be a positive number, not {raw!r}")
    return rounds


def write_config(directory: Path, rounds: int) -> Path:
    """A passlib CryptContext file with pymap's scheme at ``rounds``; its path."""
    path = directory / CONFIG_NAME
    path.write_text(
        f"[passlib]\nschemes = pbkdf2_sha256\npbkdf2_sha256__default_rounds = {rounds}\n"
    )
    return path
