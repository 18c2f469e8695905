"""Driving the deliver and import pages as a browser would (the Django test client)."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from adminpanel.audit.models import AuditEvent
from adminpanel.mail.models import ImportJob

from .mail import DELIVER, IMPORT, upload

PREVIEW = "/mail/deliver/preview/"
CONFIRM = "/mail/deliver/confirm/"
RESULT = "/mail/deliver/result/"


def form(user: str, **fields: Any) -> dict[str, Any]:
    return {"user": user, "mailbox": "INBOX", "keywords": "", **fields}


def deliver(client: Client, data: dict[str, Any]) -> str:
    """Post the form, confirm the preview, return the result page's HTML."""
    response = client.post(DELIVER, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == PREVIEW
    assert client.get(PREVIEW).status_code == 200
    confirmed = client.post(CONFIRM)
    assert confirmed.status_code == 302
    assert confirmed["Location"] == RESULT
    return str(client.get(RESULT).content.decode())


def checked(html: str, value: str) -> bool:
    """Whether the radio button or checkbox with ``value`` is checked."""
    return re.search(rf'<input [^>]*value="{re.escape(value)}"[^>]*checked', html) is not None


def last_audit() -> AuditEvent:
    event = AuditEvent.objects.filter(action="message-deliver").first()
    assert event is not None
    return event


def start(client: Client, user: str, files: list[tuple[str, bytes]], **fields: Any) -> ImportJob:
    response = upload(client, user, files, **fields)
    assert response.status_code == 302, response.content.decode()[:3000]
    job = ImportJob.objects.get()
    assert response["Location"] == f"{IMPORT}{job.pk}/"
    return job


def detail(client: Client, job: ImportJob) -> str:
    response = client.get(f"{IMPORT}{job.pk}/")
    assert response.status_code == 200
    return str(response.content.decode())
