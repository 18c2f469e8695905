"""Deliver one message: form -> preview -> confirm -> result (POST-redirect-GET).

The message's bytes are stashed on disk between the preview and the
confirmation (the session holds only a random key and their SHA-256), and the
confirmation sends exactly those bytes. Claiming the stash is a rename, so a
second confirmation of the same preview delivers nothing twice. A message the
server refused (so certainly did not store) is stashed again, so the result
page can offer to edit it and try again with nothing retyped.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from adminpanel.accounts.acting import Acting
from adminpanel.lib.body_limits import max_body_size, too_large

from .. import actions, compose, parsing, preview, spool
from ..flags import SYSTEM_FLAGS
from ..forms.deliver import DeliverForm
from ..models import MessageSource

PENDING_KEY = "mail.pending_delivery"
RESULT_KEY = "mail.delivery_result"


def _pending(request: HttpRequest) -> dict[str, Any] | None:
    pending = request.session.get(PENDING_KEY)
    return pending if isinstance(pending, dict) and "stash" in pending else None


def _drop_pending(request: HttpRequest) -> None:
    pending = request.session.pop(PENDING_KEY, None)
    if isinstance(pending, dict) and isinstance(pending.get("stash"), str):
        spool.discard_stash(pending["stash"])


def _kept_file(pending: dict[str, Any] | None) -> str | None:
    """How the form names the upload of the message being edited, if there is one."""
    if pending is None or pending.get("source") not in (MessageSource.FILE, MessageSource.KEPT):
        return None
    return f"{pending.get('file_name') or 'upload'} ({filesizeformat(pending.get('size', 0))})"


def _initial_from(pending: dict[str, Any] | None) -> dict[str, Any]:
    """The form's values: the defaults (no user, so that nobody delivers to
    themselves by accident), or those of the message being edited."""
    if pending is None:
        return {"mailbox": "INBOX", "source": MessageSource.COMPOSE}
    flags = pending.get("flags", [])
    initial: dict[str, Any] = {
        "user": pending.get("user", ""),
        "mailbox": pending.get("mailbox", "INBOX"),
        "sender": pending.get("sender", ""),
        "recipient": pending.get("recipient", ""),
        "flags": [flag for flag in flags if flag in SYSTEM_FLAGS],
        "keywords": " ".join(flag for flag in flags if flag not in SYSTEM_FLAGS),
    }
    if pending.get("when") is not None:
        initial["date"] = datetime.fromtimestamp(pending["when"], UTC)
    source = pending.get("source", MessageSource.RAW)
    if source in (MessageSource.FILE, MessageSource.KEPT):
        initial["source"] = MessageSource.KEPT
        return initial
    data = spool.read_stash(pending["stash"])
    if data is None:
        return initial
    fields = compose.fields_of(data) if source == MessageSource.COMPOSE else None
    if fields is not None:
        initial.update(fields, source=MessageSource.COMPOSE)
    else:
        initial.update(source=MessageSource.RAW, message_text=data.decode("utf-8", "replace"))
    return initial


@never_cache
@max_body_size("PANEL_MAX_MESSAGE_BYTES")
@require_http_methods(["GET", "POST"])
def deliver(request: HttpRequest) -> HttpResponse:
    pending = _pending(request)
    kept_file = _kept_file(pending)
    if request.method != "POST":
        editing = pending if "edit" in request.GET else None
        form = DeliverForm(initial=_initial_from(editing), kept_file=kept_file if editing else None)
        return _form_page(request, form, 200)
    form = DeliverForm(request.POST, request.FILES, kept_file=kept_file)
    if not form.is_valid():
        return _form_page(request, form, 400)
    limit: int = settings.PANEL_MAX_MESSAGE_BYTES
    source = form.cleaned_data["source"]
    uploaded = form.cleaned_data["message_file"] if source == MessageSource.FILE else None
    if uploaded is not None and uploaded.size > limit:
        return too_large(request, uploaded.size, limit, "The message")
    if source == MessageSource.KEPT:
        assert pending is not None  # the form offers KEPT only then
        data = spool.read_stash(pending["stash"])
        file_name = pending.get("file_name", "")
        if data is None:
            form.add_error("source", "The file uploaded before is gone: upload it again.")
            return _form_page(request, form, 400)
    else:
        data = form.message_bytes(timezone.now())
        file_name = parsing.displayable(uploaded.name, 200) if uploaded else ""
    if len(data) > limit:
        return too_large(request, len(data), limit, "The message")
    _drop_pending(request)
    request.session[PENDING_KEY] = _pending_from(form, data, file_name)
    return HttpResponseRedirect(reverse("mail:deliver-preview"))


def _pending_from(form: DeliverForm, data: bytes, file_name: str) -> dict[str, Any]:
    """What the session keeps of a message waiting for confirmation (the bytes
    themselves wait in the stash)."""
    source = form.cleaned_data["source"]
    when = form.cleaned_data["date"]
    return {
        "stash": spool.stash(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "source": MessageSource.FILE if source == MessageSource.KEPT else source,
        "file_name": file_name,
        "user": form.cleaned_data["user"],
        "mailbox": form.cleaned_data["mailbox"],
        "sender": form.cleaned_data["sender"],
        "recipient": form.cleaned_data["recipient"],
        "flags": form.all_flags(),
        "when": int(when.timestamp()) if when is not None else None,
    }


def _form_page(request: HttpRequest, form: DeliverForm, status: int) -> HttpResponse:
    return render(
        request,
        "mail/deliver_form.html",
        {"form": form, "max_bytes": settings.PANEL_MAX_MESSAGE_BYTES},
        status=status,
    )


@never_cache
@require_GET
def deliver_preview(request: HttpRequest) -> HttpResponse:
    pending = _pending(request)
    data = spool.read_stash(pending["stash"]) if pending is not None else None
    if pending is None or data is None or hashlib.sha256(data).hexdigest() != pending["sha256"]:
        _drop_pending(request)
        messages.info(request, "There is no message waiting to be delivered.")
        return HttpResponseRedirect(reverse("mail:deliver"))
    when = pending.get("when")
    return render(
        request,
        "mail/deliver_preview.html",
        {
            "pending": pending,
            "preview": preview.preview(data),
            "source_limit": preview.SOURCE_LIMIT,
            "when": datetime.fromtimestamp(when, UTC) if when is not None else None,
        },
    )


@require_POST
def deliver_cancel(request: HttpRequest) -> HttpResponse:
    _drop_pending(request)
    messages.info(request, "The message was not delivered.")
    return HttpResponseRedirect(reverse("mail:deliver"))


@require_POST
def deliver_confirm(request: HttpRequest) -> HttpResponse:
    pending = _pending(request)
    data = spool.claim_stash(pending["stash"]) if pending is not None else None
    if pending is None or data is None:
        messages.warning(
            request, "Nothing to deliver: that message was already delivered or cancelled."
        )
        return HttpResponseRedirect(reverse("mail:deliver"))
    request.session.pop(PENDING_KEY, None)
    spool.discard_stash(pending["stash"])
    if hashlib.sha256(data).hexdigest() != pending["sha256"]:
        messages.error(request, "The stored message was damaged; nothing was delivered.")
        return HttpResponseRedirect(reverse("mail:deliver"))
    delivery = actions.Delivery(
        user=pending["user"],
        mailbox=pending["mailbox"],
        data=data,
        sender=pending["sender"] or None,
        recipient=pending["recipient"] or None,
        flags=pending["flags"],
        when=pending["when"],
    )
    result = actions.deliver(Acting.of(request), delivery)
    if result.certainly_not_stored:
        # The message waits again, for "edit and try again".
        request.session[PENDING_KEY] = {**pending, "stash": spool.stash(data)}
    request.session[RESULT_KEY] = result.as_session()
    return HttpResponseRedirect(reverse("mail:deliver-result"))


@never_cache
@require_GET
def deliver_result(request: HttpRequest) -> HttpResponse:
    result = request.session.get(RESULT_KEY)
    if not isinstance(result, dict):
        return HttpResponseRedirect(reverse("mail:deliver"))
    return render(request, "mail/deliver_result.html", {"result": result})
