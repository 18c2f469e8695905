"""What every mailbox and filter page checks first: the user exists, the
operator may open it (access.py), and mail access is open (else the
password page, which comes back here)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from adminpanel.accounts import mail_access
from adminpanel.accounts.mail_access import MailCredentials
from adminpanel.accounts.mail_rights import Service, refusal
from adminpanel.accounts.middleware import get_operator
from adminpanel.lib.mail_service_errors import MailAuthFailed, MailServiceError
from adminpanel.lib.pages import render_error
from adminpanel.servers import current, knowledge
from adminpanel.users import records
from adminpanel.users.views.common import not_found, with_target_name

GatedView = Callable[[HttpRequest, str, MailCredentials], HttpResponse]


def unlock_url(name: str, back: str) -> str:
    return f"{reverse('mailboxes:unlock')}?{urlencode({'name': name, 'next': back})}"


def gated(service: Service) -> Callable[[GatedView], Callable[[HttpRequest], HttpResponse]]:
    def decorate(view: GatedView) -> Callable[[HttpRequest], HttpResponse]:
        @functools.wraps(view)
        @with_target_name
        def wrapper(request: HttpRequest, name: str) -> HttpResponse:
            operator = get_operator(request)
            server = current.for_request(request)
            why = refusal(server, operator, knowledge.capabilities(server), name, service)
            if why is not None:
                return unavailable(request, name, service, why)
            # redis would open IMAP for a user nobody created (and keep what is written).
            if not records.exists(server, operator, name):
                return not_found(request, name)
            creds = mail_access.current(request, operator)
            if creds is None:
                return HttpResponseRedirect(unlock_url(name, request.get_full_path()))
            try:
                return view(request, name, creds)
            except MailAuthFailed as exc:
                mail_access.close(request, operator)
                messages.warning(request, f"{exc.message} Please give your password again.")
                return HttpResponseRedirect(unlock_url(name, request.get_full_path()))
            except MailServiceError as exc:
                return render_error(request, exc.http_status, exc.message)

        return wrapper

    return decorate


def unavailable(request: HttpRequest, name: str, service: Service, why: str) -> HttpResponse:
    return render(
        request,
        "mailboxes/unavailable.html",
        {
            "name": name,
            "what": "mailboxes" if service == Service.MAILBOXES else "filters",
            "why": why,
        },
        status=403,
    )
