"""The operator's own Sieve filters: the scripts, the plain editor (the
server's CHECKSCRIPT errors at their line), the rule builder, activate,
delete, and "Try it"."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from adminpanel.accounts.acting import Acting
from adminpanel.accounts.mail_access import MailCredentials
from adminpanel.accounts.mail_rights import Service
from adminpanel.lib.mail_service_errors import MailRefused
from adminpanel.lib.pages import render_error
from adminpanel.mailboxes.gate import gated
from adminpanel.sieve import rules
from adminpanel.users.links import user_url

from . import actions
from .forms import RuleFormSet, RulesMetaForm, ScriptForm, TryForm, validate_script_name

LIST = "filters:list"


def _script_param(request: HttpRequest) -> str | None:
    name = request.GET.get("script", "")
    try:
        validate_script_name(name)
    except ValidationError:
        return None
    return name


@require_GET
@gated(Service.FILTERS)
def script_list(request: HttpRequest, name: str, creds: MailCredentials) -> HttpResponse:
    scripts = actions.list_scripts(Acting.of(request), creds)
    return render(request, "filters/list.html", {"name": name, "scripts": scripts})


def _save(
    request: HttpRequest,
    name: str,
    creds: MailCredentials,
    script: str,
    content: str,
    activate: bool,
) -> str | None:
    """Save; None when saved (a message is set), else the error to show."""
    try:
        actions.save_script(Acting.of(request), creds, script, content, activate=activate)
    except actions.ScriptInvalid as exc:
        where = f" (line {exc.line})" if exc.line else ""
        return f"The mail server refused the script{where}: {exc.message} Nothing was saved."
    except actions.NotKept:
        return "The mail server answered OK but did not keep the script as sent."
    except MailRefused as exc:
        return f"The mail server refused: {exc.message}"
    messages.success(
        request, f"Script {script} was saved" + (" and is now active." if activate else ".")
    )
    return None


@require_http_methods(["GET", "POST"])
@gated(Service.FILTERS)
def edit(request: HttpRequest, name: str, creds: MailCredentials) -> HttpResponse:
    script = _script_param(request)
    error, error_line = "", None
    if request.method == "POST":
        form = ScriptForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.save_script(
                    Acting.of(request),
                    creds,
                    data["script_name"],
                    data["content"],
                    activate=data["activate"],
                )
            except actions.ScriptInvalid as exc:
                error, error_line = exc.message, exc.line
            except actions.NotKept:
                error = "The mail server answered OK but did not keep the script as sent."
            except MailRefused as exc:
                error = exc.message
            else:
                messages.success(request, f"Script {data['script_name']} was saved.")
                return HttpResponseRedirect(user_url(LIST, name))
    else:
        content = actions.read_script(Acting.of(request), creds, script) if script else ""
        if script and content is None:
            return render_error(request, 404, f"There is no script named {script!r}.")
        scripts = actions.list_scripts(Acting.of(request), creds)
        form = ScriptForm(
            initial={
                "script_name": script or "",
                "content": content,
                "activate": script is not None and scripts.active == script,
            }
        )
    lines = str(form["content"].value() or "").split("\n") if error_line else []
    return render(
        request,
        "filters/edit.html",
        {
            "name": name,
            "form": form,
            "error": error,
            "error_line": error_line,
            "error_text": lines[error_line - 1]
            if error_line and error_line <= len(lines)
            else None,
        },
        status=422 if error else 200,
    )


@require_http_methods(["GET", "POST"])
@gated(Service.FILTERS)
def rule_builder(request: HttpRequest, name: str, creds: MailCredentials) -> HttpResponse:
    script = _script_param(request) or "rules"
    error = ""
    if request.method == "POST":
        meta, formset = RulesMetaForm(request.POST), RuleFormSet(request.POST, prefix="rule")
        if meta.is_valid() and formset.is_valid():
            built = [
                f.rule() for f in formset if f.has_changed() and not f.cleaned_data.get("DELETE")
            ]
            error = (
                _save(
                    request,
                    name,
                    creds,
                    meta.cleaned_data["script_name"],
                    rules.write(built),
                    meta.cleaned_data["activate"],
                )
                or ""
            )
            if not error:
                return HttpResponseRedirect(user_url(LIST, name))
    else:
        existing = actions.read_script(Acting.of(request), creds, script)
        found = rules.read(existing) if existing is not None else []
        if found is None:
            messages.warning(
                request,
                f"Script {script} was not made with the rule builder: open it in the editor.",
            )
            return HttpResponseRedirect(user_url(LIST, name))
        meta = RulesMetaForm(initial={"script_name": script, "activate": True})
        formset = RuleFormSet(prefix="rule", initial=[vars(r) for r in found])
    return render(
        request,
        "filters/rules.html",
        {"name": name, "meta": meta, "formset": formset, "error": error},
        status=422 if error or request.method == "POST" else 200,
    )


@require_POST
@gated(Service.FILTERS)
def activate(request: HttpRequest, name: str, creds: MailCredentials) -> HttpResponse:
    script = request.POST.get("script", "")
    if script:
        try:
            validate_script_name(script)
        except ValidationError:
            return render_error(request, 400, "Not a script name.")
    try:
        actions.activate_script(Acting.of(request), creds, script)
    except MailRefused as exc:
        messages.error(request, f"The mail server refused: {exc.message}")
    else:
        messages.success(
            request, f"Script {script} is now active." if script else "No script is active now."
        )
    return HttpResponseRedirect(user_url(LIST, name))


@require_http_methods(["GET", "POST"])
@gated(Service.FILTERS)
def delete(request: HttpRequest, name: str, creds: MailCredentials) -> HttpResponse:
    script = _script_param(request)
    if script is None:
        return render_error(request, 400, "Not a script name.")
    error = ""
    if request.method == "POST":
        try:
            actions.delete_script(Acting.of(request), creds, script)
        except MailRefused as exc:
            error = (
                f"The mail server refused: {exc.message} "
                "An active script must be deactivated first."
            )
        else:
            messages.success(request, f"Script {script} was deleted.")
            return HttpResponseRedirect(user_url(LIST, name))
    return render(
        request,
        "filters/delete.html",
        {"name": name, "script": script, "error": error},
        status=422 if error else 200,
    )


@require_http_methods(["GET", "POST"])
@gated(Service.FILTERS)
def try_it(request: HttpRequest, name: str, creds: MailCredentials) -> HttpResponse:
    form = TryForm(request.POST if request.method == "POST" else None)
    result = None
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["message"].replace("\r\n", "\n").replace("\n", "\r\n")
        result = actions.try_message(Acting.of(request), creds, text.encode("utf-8"))
    return render(request, "filters/try.html", {"name": name, "form": form, "result": result})
