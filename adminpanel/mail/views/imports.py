"""Import whole mailboxes: upload, progress, cancel, resume, report.

The upload streams to disk and becomes a job that a task worker runs; these
views only start, steer and show jobs. Progress is rendered on the server (a
plain reload shows it) and a small static script refreshes it from
``progress.json`` while the job runs. Cancelling and deleting the upload cannot
be undone: a GET shows a page that says what they would do, its button POSTs.
"""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from adminpanel.accounts.acting import Acting
from adminpanel.accounts.middleware import get_operator, others_data_view, passive_view
from adminpanel.accounts.session import Operator
from adminpanel.lib.body_limits import max_body_size, too_large
from adminpanel.lib.refusal import add_to_form, with_refusal
from adminpanel.lib.spreadsheet import csv_safe
from adminpanel.users.links import user_url

from .. import actions, jobs, progress
from ..forms.imports import ImportForm
from ..models import ImportJob, ImportMessage, MessageState

REPORT_PAGE_SIZE = 200
PROBLEM_STATES = (MessageState.REFUSED, MessageState.UNKNOWN, MessageState.CANCELLED)
RECENT_JOBS = 20


def _visible_jobs(operator: Operator) -> QuerySet[ImportJob]:
    return jobs.visible_to(operator)


def _job_for(request: HttpRequest, pk: int) -> ImportJob:
    return get_object_or_404(_visible_jobs(get_operator(request)), pk=pk)


def _to_detail(pk: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("mail:import-detail", args=[pk]))


@others_data_view
@never_cache
@max_body_size("PANEL_MAX_IMPORT_BYTES")
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        return _start(request, form) if form.is_valid() else _list_page(request, form, 400)
    # No user by default, so that nobody imports into their own mailbox
    # by accident; an import page's "import more" link names one.
    form = ImportForm(
        initial={
            "user": request.GET.get("user", ""),
            "mailbox": request.GET.get("mailbox", "INBOX"),
        }
    )
    return _list_page(request, form, 200)


def _list_page(request: HttpRequest, form: ImportForm, status: int) -> HttpResponse:
    recent = _visible_jobs(get_operator(request))[:RECENT_JOBS]
    return render(
        request,
        "mail/import_list.html",
        {
            "form": form,
            "jobs": [(job, jobs.shown_state(job)) for job in recent],
            "max_bytes": settings.PANEL_MAX_IMPORT_BYTES,
            "max_message_bytes": settings.PANEL_MAX_MESSAGE_BYTES,
        },
        status=status,
    )


def _start(request: HttpRequest, form: ImportForm) -> HttpResponse:
    """Create and enqueue the job; or the form again, with why not."""
    data = form.cleaned_data
    files = data["upload"]
    limit: int = settings.PANEL_MAX_IMPORT_BYTES
    total = sum(uploaded.size or 0 for uploaded in files)
    if total > limit:
        return too_large(request, total, limit, "The upload")
    wanted = actions.ImportRequest(
        user=data["user"],
        mailbox=data["mailbox"],
        flags=form.all_flags(),
        date_source=data["date_source"],
        archive_flags=data["archive_flags"],
    )
    try:
        job = actions.start_import(Acting.of(request), wanted, files)
    except actions.ImportNotStarted as exc:
        add_to_form(form, exc)
        return with_refusal(_list_page(request, form, exc.status), exc)
    return _to_detail(job.pk)


@others_data_view
@never_cache
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    shown = progress.progress(job)
    show = "problems" if request.GET.get("show") == "problems" else "all"
    rows = job.messages.order_by("index")
    if show == "problems":
        rows = rows.filter(state__in=PROBLEM_STATES)
    page = Paginator(rows, REPORT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "mail/import_detail.html",
        {
            "job": job,
            "progress": shown,
            "page": page,
            "show": show,
            "waiting_for_worker": progress.waiting_for_worker(job),
            "can_cancel": jobs.can_cancel(job) and not jobs.worker_is_stopping(job),
            "can_resume": jobs.can_resume(job, shown.counts),
            "can_retry_unknown": jobs.can_retry_unknown(job, shown.counts),
            "can_discard_upload": jobs.can_discard_upload(job),
            "user_link": user_url("users:detail", job.user),
            "import_more_link": reverse("mail:import")
            + "?"
            + urlencode({"user": job.user, "mailbox": job.mailbox}),
        },
    )


@others_data_view
@passive_view
@never_cache
@require_GET
def import_progress(request: HttpRequest, pk: int) -> JsonResponse:
    job = _job_for(request, pk)
    return JsonResponse(progress.progress(job).as_json())


#: What a cancel or discard says when it is no longer possible (GET and POST alike).
ALREADY_ENDED = "This import has already ended."
WORKER_WILL_STOP = (
    "The worker will stop after the messages it is sending now (their outcome will be recorded)."
)
CANNOT_DISCARD = "The upload cannot be discarded now."


def _confirm(request: HttpRequest, job: ImportJob, action: str) -> HttpResponse:
    """The page that says what cancelling or discarding would do; its button POSTs."""
    return render(
        request,
        "mail/import_confirm.html",
        {"job": job, "action": action, "stakes": progress.stakes(job)},
    )


@others_data_view
@never_cache
@require_http_methods(["GET", "POST"])
def import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    if request.method == "GET":
        if not jobs.can_cancel(job):
            messages.info(request, ALREADY_ENDED)
        elif jobs.worker_is_stopping(job):
            messages.info(request, WORKER_WILL_STOP)
        else:
            return _confirm(request, job, "cancel")
        return _to_detail(pk)
    if not jobs.can_cancel(job):
        messages.info(request, ALREADY_ENDED)
    elif actions.cancel_import(Acting.of(request), job):
        messages.success(request, "The import was cancelled; no further message will be sent.")
    else:
        messages.info(request, WORKER_WILL_STOP)
    return _to_detail(pk)


def _requeue(request: HttpRequest, pk: int, *, include_unknown: bool) -> HttpResponse:
    job = _job_for(request, pk)
    what = "retry of unknown outcomes" if include_unknown else "resume"
    allowed = jobs.can_retry_unknown(job) if include_unknown else jobs.can_resume(job)
    if not allowed:
        messages.info(request, f"This import cannot be resumed now ({what}).")
        return _to_detail(pk)
    if include_unknown and request.POST.get("confirm") != "yes":
        messages.error(
            request,
            "Tick the box to confirm that the messages with an unknown outcome may be "
            "delivered twice.",
        )
        return _to_detail(pk)
    try:
        queued = actions.resume_import(Acting.of(request), job, include_unknown=include_unknown)
    except actions.ImportNotStarted as exc:
        messages.error(request, exc.message)
        return _to_detail(pk)
    if queued:
        messages.success(request, "The import is queued again.")
    else:
        messages.info(request, "The import changed meanwhile; nothing was done.")
    return _to_detail(pk)


@others_data_view
@require_POST
def import_resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _requeue(request, pk, include_unknown=False)


@others_data_view
@require_POST
def import_retry_unknown(request: HttpRequest, pk: int) -> HttpResponse:
    return _requeue(request, pk, include_unknown=True)


@others_data_view
@never_cache
@require_http_methods(["GET", "POST"])
def import_discard(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    if request.method == "GET":
        if jobs.can_discard_upload(job):
            return _confirm(request, job, "discard")
        messages.info(request, CANNOT_DISCARD)
        return _to_detail(pk)
    if jobs.can_discard_upload(job) and actions.discard_upload(Acting.of(request), job):
        messages.success(request, "The uploaded file was deleted.")
    else:
        messages.info(request, CANNOT_DISCARD)
    return _to_detail(pk)


# --- the CSV report ----------------------------------------------------------------------

CSV_COLUMNS = [
    "index",
    "state",
    "flags",
    "uid",
    "uid_validity",
    "mailbox",
    "reason_key",
    "reason",
    "resent",
    "size",
    "offset",
    "subject",
    "message_id",
]


@others_data_view
@never_cache
@require_GET
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    if not job.split_done:
        raise Http404("no report yet")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-report.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    rows = ImportMessage.objects.filter(job=job).order_by("index").values_list(*CSV_COLUMNS)
    for row in rows.iterator(chunk_size=2000):
        writer.writerow([csv_safe(_cell(value)) for value in row])
    return response


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # the message's own flags
        return " ".join(str(item) for item in value)
    return str(value)
