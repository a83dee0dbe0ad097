"""The import page: upload markdown files (or a zip), check them (a dry run that writes nothing),
then import them. The Import button posts the same files again, so nothing waits on the server
between the two steps; importing twice is harmless, because a file already imported is only
reported."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from knowledge.transfer.report import Outcome
from knowledge.transfer.sources import Limits, SourceError, files_from_uploads
from postmortems.permissions import can_create_incident
from postmortems.transfer.forms import ImportUploadForm
from postmortems.transfer.importer import import_files
from postmortems.views.common import is_htmx, page_render


@require_http_methods(["GET", "POST"])
def postmortem_import(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: a dry run, or with `confirm=import` the import; both answer with
    the per-file report (only the report when htmx asked for the check)."""
    if not can_create_incident(request.user):
        raise PermissionDenied("Only responders and admins can import postmortems.")
    limits = Limits.from_settings()
    if request.method != "POST":
        form = ImportUploadForm(limits=limits)
        return page_render(request, "postmortems/import.html", {"form": form, "report": None})
    form = ImportUploadForm(request.POST, request.FILES, limits=limits)
    report = None
    if form.is_valid():
        try:
            sources = files_from_uploads(form.uploads(), limits)
        except SourceError as error:
            form.add_error("upload", str(error))
        else:
            dry_run = request.POST.get("confirm") != "import"
            report = import_files(
                user=request.user,
                sources=sources,
                dry_run=dry_run,
                unknown_headings=form.cleaned_data["unknown_headings"],
            )
            if not dry_run and report.count(Outcome.CREATED):
                messages.success(request, report.summary)
    context = {"form": form, "report": report}
    if is_htmx(request):
        # htmx swaps only 2xx answers: the refusal travels in the fragment instead.
        return page_render(request, "postmortems/import_report.html", context)
    status = 200 if report is not None else 400
    return page_render(request, "postmortems/import.html", context, status=status)
