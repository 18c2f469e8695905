"""Request bodies against the panel under uvicorn (issue 17, point 4).

Under ASGI Django reads a whole body into a temporary file before any view's
limit applies: a 300 MiB POST to the sign-in page left a 263 MB file, and a
request announcing 30 MB that sent nothing held its connection open. These
talk raw HTTP to the real production server, with its temporary directory
watched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.panel_client import PanelClient
from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from .support.pymap_users import MakeUser
from .support.raw_http import SESSION_COOKIE, closed, post_raw

BODY_SECONDS = 2
MIN_RATE = 10 * 1024 * 1024  # 10 MiB/s: a 50 MB body gets 2 + 5 s


@pytest.fixture(scope="module")
def temp_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("panel-tmp")


@pytest.fixture(scope="module")
def panel(pymap: PymapProcess, temp_dir: Path) -> Iterator[PanelProcess]:
    env = {
        "TMPDIR": str(temp_dir),
        "PANEL_REQUEST_BODY_SECONDS": str(BODY_SECONDS),
        "PANEL_REQUEST_BODY_MIN_RATE": str(MIN_RATE),
    }
    with PanelProcess(pymap.socket_path, extra_env=env) as process:
        yield process


def spooled_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def test_a_huge_post_to_the_sign_in_page_is_refused_unread(
    panel: PanelProcess, temp_dir: Path
) -> None:
    status, seconds, connection = post_raw(
        panel, "/accounts/sign-in/", 300 * 1024 * 1024, 1024 * 1024
    )
    with connection:
        assert status == 413
        assert seconds < 10
        assert closed(connection)
    assert spooled_bytes(temp_dir) == 0


def test_a_body_announced_and_never_sent_is_cut_off(panel: PanelProcess) -> None:
    status, seconds, connection = post_raw(panel, "/accounts/sign-in/", 1024 * 1024, 0)
    with connection:
        assert status == 408
        assert BODY_SECONDS <= seconds < BODY_SECONDS + 5
        assert closed(connection)


def test_large_uploads_need_a_signed_in_session(
    panel: PanelProcess, pymap_user: MakeUser, temp_dir: Path
) -> None:
    announced = 50 * 1024 * 1024
    status, seconds, connection = post_raw(panel, "/mail/import/", announced, 1024 * 1024)
    with connection:
        assert status == 413
        assert seconds < 10
    client = PanelClient(panel.url)
    user = pymap_user()
    assert client.sign_in(user.name, user.password).status == 302
    cookie = client.cookie(SESSION_COOKIE)
    assert cookie
    # Signed in, the upload URL's own limit applies: the guard lets the body
    # come, and cuts it off only when it stops arriving (2 s + 5 s for 50 MB).
    status, seconds, connection = post_raw(
        panel, "/mail/import/", announced, 4 * 1024 * 1024, cookie=cookie
    )
    with connection:
        assert status == 408
        assert seconds >= BODY_SECONDS + announced / MIN_RATE - 1
    # What Django had spooled of it went with the aborted request.
    assert spooled_bytes(temp_dir) == 0
