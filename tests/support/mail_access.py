"""The session server with its IMAP and ManageSieve services, and opening
mail access (the operator's own password) in a test client."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from django.test import Client
from sievelib import managesieve

from adminpanel.pymap.servers import MailEndpoint, PymapServer
from adminpanel.users.links import user_url
from devtools.local_processes import LOCALHOST
from devtools.pymap_process import PymapProcess

from .pymap_users import PymapUser


def with_mail_services(pymap: PymapProcess) -> PymapServer:
    assert pymap.imap_port is not None
    assert pymap.sieve_port is not None
    return dataclasses.replace(
        pymap.server(),
        imap=MailEndpoint(LOCALHOST, pymap.imap_port, "none"),
        managesieve=MailEndpoint(LOCALHOST, pymap.sieve_port, "none"),
    )


def open_access(client: Client, operator: PymapUser, target: str) -> None:
    response = client.post(user_url("mailboxes:unlock", target), {"password": operator.password})
    assert response.status_code == 302, response.content.decode()[:3000]


@contextmanager
def sieve_as(pymap: PymapProcess, user: PymapUser) -> Iterator[managesieve.Client]:
    """A raw ManageSieve session of ``user`` (sievelib), past the panel."""
    assert pymap.sieve_port is not None
    sieve = managesieve.Client(LOCALHOST, pymap.sieve_port)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert sieve.connect(user.name, user.password, authmech="PLAIN")
    try:
        yield sieve
    finally:
        sieve.sock.close()
        sieve.sock = None
