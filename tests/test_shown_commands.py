"""The pymap-admin command each result page shows does what the page did
(issue 13, point 4): run as shown, with its secret supplied through a file or
the PYMAP_ADMIN_TOKEN placeholder, against the same real server, on every
backend."""

from __future__ import annotations

import imaplib
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from adminpanel.pymap import service
from adminpanel.pymap.servers import PymapServer
from adminpanel.pymap.tokens import read_token
from devtools.pymap_process import PymapProcess

from .support.mail import fetch_all, sign_in
from .support.pymap_users import MakeUser
from .support.stored import stored_user
from .support.tokens import run_shown, shown_commands, shown_token, works
from .support.users import CREATE, create_post, edit_post, page, signed_in_admin, unique, user_url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_spool")]

Imap = Callable[..., imaplib.IMAP4]


def _one_command(text: str) -> str:
    [command] = shown_commands(text)
    return command


def _run(command: str, tmp_path: Path, pymap: PymapProcess, **files: str | bytes) -> None:
    for name, content in files.items():
        path = tmp_path / name.replace("_", ".")
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content + "\n")
    result = run_shown(command, tmp_path, token=pymap.admin_token)
    assert result.returncode == 0, (command, result.stdout, result.stderr)


def _params(pymap: PymapProcess) -> dict[str, str]:
    # maildir keeps no free params (only mailbox_path, which it adds itself).
    return {} if pymap.backend == "maildir" else {"quota": "5 GB"}


def test_the_create_command_creates_the_same_user(
    client: Client,
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    tmp_path: Path,
) -> None:
    signed_in_admin(client, pymap_user)
    name, password = unique(), "a created passphrase"
    response = client.post(
        CREATE,
        create_post(name, password=password, other_roles="editor", params=_params(pymap)),
        follow=True,
    )
    assert response.status_code == 200
    command = _one_command(page(response))
    assert "set-user --no-overwrite --password-file password.txt" in command
    assert password not in command
    assert pymap.admin_token not in command
    assert shown_commands(page(client.get(user_url("users:detail", name)))) == [], "shown once"
    made_by_panel = stored_user(pymap, name)

    service.delete_user(pymap_server, pymap.admin_token, name)
    _run(command, tmp_path, pymap, password_txt=password)
    made_by_command = stored_user(pymap, name)
    assert made_by_command == made_by_panel
    assert made_by_command is not None
    assert made_by_command.roles == {"editor"}
    service.login(pymap_server, name, password=password)  # the password works


def test_the_password_command_changes_only_the_password(
    client: Client,
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    tmp_path: Path,
) -> None:
    signed_in_admin(client, pymap_user)
    user = pymap_user("changed", roles=["editor"])
    response = client.post(
        user_url("users:password", user.name),
        {"new_password1": "a panel passphrase", "new_password2": "a panel passphrase"},
        follow=True,
    )
    command = _one_command(page(response))
    before = stored_user(pymap, user.name)
    _run(command, tmp_path, pymap, password_txt="a command passphrase")
    service.login(pymap_server, user.name, password="a command passphrase")
    # On maildir change-password would have written the admin role back.
    assert stored_user(pymap, user.name) == before
    assert ("change-password" in command) == (pymap.backend != "maildir")


def test_the_edit_command_stores_the_same_roles_and_params(
    client: Client,
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    tmp_path: Path,
) -> None:
    signed_in_admin(client, pymap_user)
    user = pymap_user("edited", roles=["editor"])
    form_page = page(client.get(user_url("users:edit", user.name)))
    params = {**_params(pymap), **stored_params(pymap, user.name)}
    data = edit_post(form_page, roles=("auditor",), params=params, current=user.password)
    response = client.post(user_url("users:edit", user.name), data, follow=True)
    assert response.status_code == 200, page(response)[:3000]
    command = _one_command(page(response))
    edited = stored_user(pymap, user.name)
    assert edited is not None
    assert edited.roles == {"auditor"}

    tag = service.get_user(pymap_server, pymap.admin_token, user.name).entity_tag
    service.set_user(
        pymap_server,
        pymap.admin_token,
        user.name,
        password=user.password,
        roles=["editor"],
        params=stored_params(pymap, user.name) if pymap.backend == "maildir" else {},
        previous_entity_tag=tag,
    )
    assert stored_user(pymap, user.name) != edited
    _run(command, tmp_path, pymap, password_txt=user.password)
    assert stored_user(pymap, user.name) == edited
    service.login(pymap_server, user.name, password=user.password)


def stored_params(pymap: PymapProcess, name: str) -> dict[str, str]:
    stored = stored_user(pymap, name)
    assert stored is not None
    return dict(stored.params)


def test_the_delete_command_deletes_the_user(
    client: Client,
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    tmp_path: Path,
) -> None:
    signed_in_admin(client, pymap_user)
    user = pymap_user("deleted")
    response = client.post(user_url("users:delete", user.name), follow=True)
    command = _one_command(page(response))
    assert command.endswith(f"delete-user {user.name}")
    service.set_user(pymap_server, pymap.admin_token, user.name, password=user.password)
    assert stored_user(pymap, user.name) is not None
    _run(command, tmp_path, pymap)
    assert stored_user(pymap, user.name) is None


def test_the_append_command_delivers_the_same_message(
    client: Client,
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    imap_client: Imap,
    tmp_path: Path,
) -> None:
    owner = pymap_user("owner")
    sign_in(client, owner)
    message = b"From: a@example.org\r\nSubject: twice\r\n\r\nThe same bytes.\r\n"
    upload = SimpleUploadedFile("m.eml", message, content_type="message/rfc822")
    data = {
        "user": owner.name,
        "mailbox": "INBOX",
        "keywords": "",
        "source": "file",
        "message_file": upload,
        "flags": ["\\Seen", "\\Flagged"],
        "date": "2021-03-04T05:06:07",
    }
    assert client.post("/mail/deliver/", data).status_code == 302
    client.post("/mail/deliver/confirm/")
    text = page(client.get("/mail/deliver/result/"))
    assert "2.0.0 Message delivered" in text
    command = _one_command(text)
    assert "--seen" in command
    assert "--timestamp 1614834367" in command

    _run(command, tmp_path, pymap, message_eml=message)
    first, second = fetch_all(imap_client(owner.name, owner.password))
    assert (second.body, second.flags, second.internal_date) == (
        first.body,
        first.flags,
        first.internal_date,
    )


def test_the_token_commands_issue_an_equivalent_token(
    client: Client,
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    tmp_path: Path,
) -> None:
    """login -t -s saves a token (mode 600), the next step adds the panel's caveats."""
    client.post("/accounts/sign-in/", {"method": "token", "token": pymap.admin_token})
    target = pymap_user("target")
    text = page(
        client.post(
            "/tokens/", {"user": target.name, "lifetime": "10", "unit": "minutes", "act_as": ""}
        )
    )
    panel_token = shown_token(text)
    *use, folder, login, narrow = shown_commands(text)
    assert "login -t -s" in login
    assert panel_token not in login + narrow
    assert run_shown(folder, tmp_path).returncode == 0
    result = run_shown(login, tmp_path, token=pymap.admin_token)
    assert result.returncode == 0, result.stderr
    saved = tmp_path / ".config" / "pymap" / "pymap-admin.token"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    result = run_shown(narrow, tmp_path)
    assert result.returncode == 0, result.stderr
    token = saved.read_text().strip()
    assert read_token(token).caveats == read_token(panel_token).caveats
    assert works(pymap, token, target.name)
    # The page's "use it" command, with the saved file and no variable.
    result = run_shown(use[-1], tmp_path)
    assert result.returncode == 0, result.stderr


def test_the_own_token_commands_log_in_with_the_password_typed(
    client: Client,
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    tmp_path: Path,
) -> None:
    """login -i asks for the password (here on stdin, without a terminal)."""
    user = pymap_user("own")
    sign_in(client, user)
    text = page(
        client.post(
            "/tokens/",
            {"password": user.password, "lifetime": "2", "unit": "days", "act_as": ""},
        )
    )
    *_use, folder, login, narrow = shown_commands(text)
    assert "login -i -s" in login
    assert user.password not in text
    assert run_shown(folder, tmp_path).returncode == 0
    result = run_shown(login, tmp_path, stdin=f"{user.password}\n".encode(), detached=True)
    assert result.returncode == 0, result.stderr
    assert run_shown(narrow, tmp_path).returncode == 0
    token = (tmp_path / ".config" / "pymap" / "pymap-admin.token").read_text().strip()
    assert read_token(token).caveats == read_token(shown_token(text)).caveats
    assert works(pymap, token, user.name)
