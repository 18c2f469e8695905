"""The test servers hash passwords at a lower cost than pymap's own, and a
server started without ``PYMAP_HASH_ROUNDS`` keeps pymap's own cost.

Read from what maildir stores (``pymap-etc-shadow``), not from what was sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adminpanel.pymap import service
from adminpanel.pymap.errors import Refused
from devtools import pymap_hashing
from devtools.pymap_process import PymapProcess

from .support.pymap_users import MakeUser

pytestmark = pytest.mark.backends("maildir")


def _stored_hash(maildir: Path, name: str) -> str:
    for line in (maildir / "pymap-etc-shadow").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":")[1]
    raise AssertionError(f"{name} is not in pymap-etc-shadow")


def test_the_suites_servers_hash_with_the_test_rounds(
    pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    user = pymap_user("hash-cost")
    assert pymap.hash_rounds == pymap_hashing.TEST_ROUNDS
    stored = _stored_hash(pymap.maildir_dir, user.name)
    assert stored.startswith(f"$pbkdf2-sha256${pymap_hashing.TEST_ROUNDS}$"), stored
    # The cheaper hash still checks the password: right one in, wrong one out.
    service.login(pymap.server(), user.name, password=user.password)
    with pytest.raises(Refused):
        service.login(pymap.server(), user.name, password=f"{user.password}x")


def test_without_the_setting_a_server_keeps_pymaps_own_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PYMAP_HASH_ROUNDS")
    with PymapProcess(backend="maildir") as server:
        assert server.hash_rounds == pymap_hashing.PYMAP_DEFAULT_ROUNDS
        service.set_user(server.server(), server.admin_token, "own-cost", password="pw-1234567")
        stored = _stored_hash(server.maildir_dir, "own-cost")
    assert stored.startswith("$pbkdf2-sha256$500000$"), stored


@pytest.mark.parametrize("raw", ["0", "-5", "many"])
def test_a_nonsense_setting_is_refused_before_pymap_starts(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("PYMAP_HASH_ROUNDS", raw)
    with pytest.raises(ValueError, match="PYMAP_HASH_ROUNDS"):
        pymap_hashing.rounds_from_env()
