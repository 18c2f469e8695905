"""The one shape of "no" an action answers with, and the one place it becomes a page.

An action that does not do what it was asked raises a :class:`Refusal` (or a
subclass naming the case: ``AlreadyExists``, ``SignInThrottled``,
``PymapError``...). It carries everything its page needs: the message for
the operator, the HTTP status, the form field at fault (None: the form as a
whole) and any response headers (``Retry-After``). :func:`render_refusal`
turns one into a response, either the view's own form page again, with the
message on its field, or the panel's error page; the error middleware
(web/errors.py) renders the refusals no view handled the same way.

pymap's own in-band refusals stay :class:`adminpanel.pymap.errors.Refused`
(a subclass), whose ``key`` is the server's result key: code that branches on
a key (``exc.is_(RefusalKey.USER_NOT_FOUND)``) still can.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .pages import render_error


class Refusal(Exception):
    """What was refused, in words, and how its page answers.

    Subclasses set the defaults as class attributes (``message``, ``status``,
    ``field``); the constructor's arguments override them for one refusal.
    """

    message: str = "The request was refused. Nothing was changed."
    status: int = 400
    field: str | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if message is not None:
            self.message = message
        if status is not None:
            self.status = status
        if field is not None:
            self.field = field
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self.message)

    @property
    def outcome(self) -> str:
        """What the audit log stores for it: the refusal's kind."""
        return type(self).__name__


def add_to_form(form: forms.BaseForm, refusal: Refusal) -> None:
    """The message on the refusal's field, or on the form as a whole when
    the form has no such field."""
    field = refusal.field if refusal.field in form.fields else None
    form.add_error(field, refusal.message)


def render_refusal(
    request: HttpRequest,
    refusal: Refusal,
    template: str | None = None,
    context: dict[str, Any] | None = None,
    *,
    form: forms.BaseForm | None = None,
) -> HttpResponse:
    """The page of a refusal, with its status and headers: ``template`` (the
    view's form page, ``form`` in ``context`` getting the message), or
    without one the panel's error page."""
    if template is None:
        return with_refusal(render_error(request, refusal.status, refusal.message), refusal)
    if form is not None:
        add_to_form(form, refusal)
    return with_refusal(render(request, template, context or {}), refusal)


def with_refusal(response: HttpResponse, refusal: Refusal) -> HttpResponse:
    """A page rendered for ``refusal`` (by a view's own page helper, after
    :func:`add_to_form`) gets its status and headers."""
    response.status_code = refusal.status
    for header, value in refusal.headers.items():
        response[header] = value
    return response
