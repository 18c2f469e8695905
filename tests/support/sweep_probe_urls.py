"""Two upload forms for testing the hostile-input sweep itself.

The panel on this branch has no upload form yet, so these show that the
sweep reaches file fields: it must pass the careful view and catch the
careless one, which assumes uploads are UTF-8.
Tests switch to them with ``settings.ROOT_URLCONF = "tests.support.sweep_probe_urls"``.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods

from adminpanel.accounts.middleware import public_view

PAGE = """{% include "form_errors.html" %}
<form method="post" enctype="multipart/form-data">{% csrf_token %}{{ form.as_div }}</form>"""


class UploadForm(forms.Form):
    note = forms.CharField(max_length=100)
    message = forms.FileField()

    def clean_message(self) -> str:
        try:
            text: str = self.cleaned_data["message"].read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError("The file is not UTF-8 text.") from exc
        return text


def _page(request: HttpRequest, form: UploadForm, status: int) -> HttpResponse:
    html = engines["django"].from_string(PAGE).render({"form": form}, request)
    return HttpResponse(html, status=status)


@public_view
@require_http_methods(["GET", "POST"])
def careful_upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and not form.is_valid():
        return _page(request, form, 400)
    return _page(request, form, 200)


@public_view
@require_http_methods(["GET", "POST"])
def careless_upload(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        upload = request.FILES.get("message")
        assert upload is not None
        upload.read().decode("utf-8")  # the bug the sweep must find
    return _page(request, UploadForm(), 200)


urlpatterns: list[URLPattern] = [
    path("careful/", careful_upload),
    path("careless/", careless_upload),
]
