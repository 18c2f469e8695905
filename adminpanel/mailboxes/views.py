"""A user's mailboxes: the list with IMAP's counts, the newest headers of one
mailbox, one message opened by UID, create, rename and delete (each
confirmed), and the password page that opens mail access."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from adminpanel.accounts import mail_access
from adminpanel.accounts.acting import Acting
from adminpanel.accounts.mail_access import MailCredentials
from adminpanel.accounts.mail_rights import Service, refusal
from adminpanel.accounts.middleware import get_operator
from adminpanel.accounts.throttle import SignInThrottled
from adminpanel.lib.mail_service_errors import MailRefused
from adminpanel.lib.pages import render_error
from adminpanel.lib.return_to import local_path
from adminpanel.users.links import user_url
from adminpanel.users.views.common import with_target_name

from . import actions
from .forms import MailAccessForm, MailboxNameForm, RenameForm, validate_mailbox_name
from .gate import gated, unavailable

mailbox_list_url = "mailboxes:list"
#: IMAP UIDs are non-zero 32-bit numbers (RFC 3501 section 2.3.1.1).
MAX_UID = 2**32 - 1


@require_GET
@gated(Service.MAILBOXES)
def mailbox_list(request: HttpRequest, name: str, creds: MailCredentials) -> HttpResponse:
    boxes = actions.list_mailboxes(Acting.of(request), creds, name)
    return render(
        request,
        "mailboxes/list.html",
        {
            "name": name,
            "mailboxes": boxes,
            "form": MailboxNameForm(),
            "expires_at": creds.expires_at,
        },
    )


def _chosen_mailbox(request: HttpRequest) -> str | None:
    mailbox = request.GET.get("mailbox", "")
    if mailbox == "INBOX":
        return mailbox
    try:
        validate_mailbox_name(mailbox)
    except ValidationError:
        return None
    return mailbox


@require_GET
@gated(Service.MAILBOXES)
def mailbox_detail(request: HttpRequest, name: str, creds: MailCredentials) -> HttpResponse:
    mailbox = _chosen_mailbox(request)
    if mailbox is None:
        return render_error(request, 400, "This address does not name a usable mailbox.")
    try:
        newest = actions.newest_messages(Acting.of(request), creds, name, mailbox)
    except MailRefused as exc:
        return render_error(
            request, 404, f"The mail server cannot open this mailbox: {exc.message}"
        )
    return render(
        request,
        "mailboxes/detail.html",
        {"name": name, "mailbox": mailbox, "newest": newest, "rename_form": RenameForm()},
    )


def _chosen_uid(request: HttpRequest) -> int | None:
    uid = request.GET.get("uid", "")
    # Ten digits at most: int() refuses (ValueError) strings past 4,300 digits.
    if not (0 < len(uid) <= 10 and uid.isascii() and uid.isdigit()):
        return None
    return int(uid) if 0 < int(uid) <= MAX_UID else None


@never_cache
@require_GET
@gated(Service.MAILBOXES)
def message(request: HttpRequest, name: str, creds: MailCredentials) -> HttpResponse:
    """One message, opened explicitly: its headers and text shown as text, audited."""
    mailbox, uid = _chosen_mailbox(request), _chosen_uid(request)
    if mailbox is None or uid is None:
        return render_error(
            request, 400, "This address does not name a message: a mailbox and a UID are needed."
        )
    try:
        opened = actions.open_message(Acting.of(request), creds, name, mailbox, uid)
    except MailRefused as exc:
        return render_error(
            request, 404, f"The mail server cannot open this mailbox: {exc.message}"
        )
    if opened is None:
        return render_error(
            request, 404, f"{mailbox} has no message with UID {uid} (moved or deleted?)."
        )
    return render(
        request,
        "mailboxes/message.html",
        {
            "name": name,
            "mailbox": mailbox,
            "message": opened.message,
            "shown": opened.shown,
            "open_limit": actions.OPEN_LIMIT,
        },
    )


@require_http_methods(["POST"])
@gated(Service.MAILBOXES)
def create(request: HttpRequest, name: str, creds: MailCredentials) -> HttpResponse:
    form = MailboxNameForm(request.POST)
    if form.is_valid():
        mailbox = form.cleaned_data["mailbox"]
        try:
            actions.create_mailbox(Acting.of(request), creds, name, mailbox)
        except MailRefused as exc:
            form.add_error(None, f"The mail server refused: {exc.message} Nothing was created.")
        else:
            messages.success(request, f"Mailbox {mailbox} was created for {name}.")
            return HttpResponseRedirect(user_url(mailbox_list_url, name))
    boxes = actions.list_mailboxes(Acting.of(request), creds, name)
    return render(
        request,
        "mailboxes/list.html",
        {"name": name, "mailboxes": boxes, "form": form, "expires_at": creds.expires_at},
        status=422,
    )


@require_http_methods(["GET", "POST"])
@gated(Service.MAILBOXES)
def rename(request: HttpRequest, name: str, creds: MailCredentials) -> HttpResponse:
    mailbox = _chosen_mailbox(request)
    if mailbox is None or mailbox == "INBOX":
        return render_error(request, 400, "This mailbox cannot be renamed here.")
    form = RenameForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        new = form.cleaned_data["new_name"]
        try:
            actions.rename_mailbox(Acting.of(request), creds, name, mailbox, new)
        except MailRefused as exc:
            form.add_error(None, f"The mail server refused: {exc.message} Nothing was renamed.")
        else:
            messages.success(request, f"Mailbox {mailbox} was renamed to {new}.")
            return HttpResponseRedirect(user_url(mailbox_list_url, name))
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "mailboxes/rename.html",
        {"name": name, "mailbox": mailbox, "form": form},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@gated(Service.MAILBOXES)
def delete(request: HttpRequest, name: str, creds: MailCredentials) -> HttpResponse:
    mailbox = _chosen_mailbox(request)
    if mailbox is None or mailbox == "INBOX":
        return render_error(request, 400, "This mailbox cannot be deleted here.")
    error = ""
    if request.method == "POST":
        try:
            actions.delete_mailbox(Acting.of(request), creds, name, mailbox)
        except MailRefused as exc:
            error = f"The mail server refused: {exc.message} Nothing was deleted."
        else:
            messages.success(request, f"Mailbox {mailbox} and its messages were deleted.")
            return HttpResponseRedirect(user_url(mailbox_list_url, name))
    return render(
        request,
        "mailboxes/delete.html",
        {"name": name, "mailbox": mailbox, "error": error},
        status=422 if error else 200,
    )


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
@with_target_name
def unlock(request: HttpRequest, name: str) -> HttpResponse:
    """Ask for the operator's own password; on success go back to ``next``."""
    operator = get_operator(request)
    service = Service.FILTERS if "/filters/" in request.GET.get("next", "") else Service.MAILBOXES
    acting = Acting.of(request)
    why = refusal(acting.server, operator, acting.caps, name, service)
    if why is not None:
        return unavailable(request, name, service, why)
    back = local_path(request.GET.get("next", "")) or user_url(mailbox_list_url, name)
    form = MailAccessForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            credentials = actions.open_mail_access(acting, form.cleaned_data["password"])
        except actions.WrongOwnPassword:
            form.add_error("password", "The mail server did not accept this password.")
        except SignInThrottled as exc:
            form.add_error(None, exc.message)
        else:
            mail_access.keep(request, operator, credentials)
            return HttpResponseRedirect(back)
        status = 403
    return render(
        request,
        "mailboxes/unlock.html",
        {
            "name": name,
            "form": form,
            "what": service.value,
            "minutes": mail_access.seconds() // 60,
            "operator_name": operator.name,
        },
        status=status,
    )
