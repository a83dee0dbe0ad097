"""The KPI dashboard: headline figures, trends and secondary figures from stored snapshots,
their drill-downs and CSV exports, and a manager's "recompute now" with its progress."""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from kbsite.errors import InvalidInput
from kbsite.roles import Role, user_has_role
from metrics import selectors
from metrics.dashboard import dashboard_build, drill_down_query, format_value, trend_csv_rows
from metrics.forms import DashboardFilterForm
from metrics.kpis import KPIS, kpi_definition
from metrics.models import RecomputeRun
from metrics.periods import parse_month, parse_scope
from metrics.services import recompute_run_finish, recompute_run_start

logger = logging.getLogger(__name__)

DRILL_DOWN_PAGE_SIZE = 100


def can_recompute(user: Any) -> bool:
    return user_has_role(user, Role.MANAGER)


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    form = DashboardFilterForm(request.GET)
    context: dict[str, Any] = {
        "form": form,
        "definitions": list(KPIS.values()),
        "can_recompute": can_recompute(request.user),
        "run": selectors.recompute_run_latest(),
    }
    if not form.is_valid():
        return render(request, "metrics/dashboard.html", context, status=400)
    filters = form.filters
    try:
        selectors.scope_check(scope=filters.scope)
    except InvalidInput as error:
        form.add_error(None, error.message)
        return render(request, "metrics/dashboard.html", context, status=400)
    board = dashboard_build(filters=filters)
    context.update(
        board=board,
        chart_data=board.chart_data(),
        export_query=urlencode(filters.query()),
        secondary=selectors.secondary_metrics_stored(
            period=filters.period, scope=filters.scope, user=request.user
        ),
    )
    return render(request, "metrics/dashboard.html", context)


def _csv_response(rows: Iterable[list[Any]], *, filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    for row in rows:
        writer.writerow([_csv_safe(cell) for cell in row])
    return response


def _csv_safe(cell: Any) -> Any:
    """Text that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell


@require_GET
def dashboard_csv(request: HttpRequest) -> HttpResponse:
    """Every chart's data for the dashboard's filters, or one chart's with `?kpi=`."""
    form = DashboardFilterForm(request.GET)
    kpi = request.GET.get("kpi") or None
    try:
        if kpi is not None:
            kpi_definition(kpi)
        if not form.is_valid():
            return _bad_request(request, _form_errors(form))
        selectors.scope_check(scope=form.filters.scope)
    except InvalidInput as error:
        return _bad_request(request, [error.message])
    board = dashboard_build(filters=form.filters)
    filters = form.filters
    name = "-".join(
        [
            "kbsite-kpis",
            kpi or "all",
            filters.scope.key.replace(":", "-"),
            f"{filters.months[0].start:%Y-%m}",
            f"{filters.period.start:%Y-%m}",
        ]
    )
    return _csv_response(trend_csv_rows(board, kpi=kpi), filename=f"{name}.csv")


def _form_errors(form: DashboardFilterForm) -> list[str]:
    return [str(message) for messages_ in form.errors.values() for message in messages_]


def _bad_request(request: HttpRequest, errors: list[str]) -> HttpResponse:
    return render(request, "metrics/bad_request.html", {"errors": errors}, status=400)


def _drill_down_input(request: HttpRequest) -> tuple[Any, Any, Any]:
    definition = kpi_definition((request.GET.get("kpi") or "").strip())
    period = parse_month(request.GET.get("period") or "")
    scope = selectors.scope_check(scope=parse_scope(request.GET.get("scope")))
    return definition, period, scope


@require_GET
def kpi_drill_down(request: HttpRequest) -> HttpResponse:
    """The incidents behind one figure: those the reader may see, marked when they count in
    the numerator, and how many others it leaves out."""
    try:
        definition, period, scope = _drill_down_input(request)
    except InvalidInput as error:
        return _bad_request(request, [error.message])
    snapshot = selectors.kpi_snapshot_get(kpi=definition.key, period=period, scope=scope)
    drill_down = selectors.kpi_drill_down(snapshot=snapshot, user=request.user)
    page = Paginator(drill_down.incidents, DRILL_DOWN_PAGE_SIZE).get_page(request.GET.get("page"))
    query = drill_down_query(kpi=definition.key, period=period, scope=scope)
    context = {
        "definition": definition,
        "period": period,
        "scope": scope,
        "snapshot": snapshot,
        "value_text": format_value(definition.unit, snapshot.value),
        "drill_down": drill_down,
        "page": page,
        "query": query,
        "dashboard_query": _dashboard_query(period=period, scope=scope),
        "numerator_label": NUMERATOR_LABELS[definition.key],
    }
    return render(request, "metrics/drill_down.html", context)


NUMERATOR_LABELS = {
    "lessons_documented": "Documented (published postmortem with a knowledge article)",
    "repeat_rate": "Repeat",
    "time_saved": "Saved time (resolved faster than its baseline)",
}


def _dashboard_query(*, period: Any, scope: Any) -> str:
    params = {"end": f"{period.start:%Y-%m}"}
    if scope.kind != "all":
        params[scope.kind] = scope.slug
    return urlencode(params)


@require_GET
def kpi_drill_down_csv(request: HttpRequest) -> HttpResponse:
    try:
        definition, period, scope = _drill_down_input(request)
    except InvalidInput as error:
        return _bad_request(request, [error.message])
    snapshot = selectors.kpi_snapshot_get(kpi=definition.key, period=period, scope=scope)
    drill_down = selectors.kpi_drill_down(snapshot=snapshot, user=request.user)
    rows: list[list[Any]] = [["incident_id", "title", "web_url", "in_numerator"]]
    rows += [
        [incident["id"], incident["title"], incident["web_url"], incident["in_numerator"]]
        for incident in drill_down.incidents
    ]
    if drill_down.hidden:
        rows.append(
            ["", f"{drill_down.hidden} incidents you may not see: counted, not listed", "", ""]
        )
    name = f"kbsite-{definition.key}-{period.start:%Y-%m}-{scope.key.replace(':', '-')}"
    return _csv_response(rows, filename=f"{name}-incidents.csv")


def _enqueue_recompute(run_id: int) -> None:
    from metrics.tasks import recompute_recent

    try:
        recompute_recent.delay(run_id=run_id)
    except Exception as error:  # the broker or an eager run failed: say so on the run
        logger.exception("recompute run %s could not run", run_id)
        run = RecomputeRun.objects.filter(pk=run_id, is_active=True).first()
        if run is not None:
            recompute_run_finish(run=run, error=f"{type(error).__name__}: {error}")


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@require_POST
def recompute(request: HttpRequest) -> HttpResponse:
    """Managers (and admins) start a recompute of the last 13 months for every scope; a second
    press while one is queued or running starts nothing and says so."""
    if not can_recompute(request.user):
        raise PermissionDenied("Only managers may recompute the figures.")
    run, created = recompute_run_start(user=request.user)  # type: ignore[arg-type]
    if created:
        run_id = run.pk
        transaction.on_commit(lambda: _enqueue_recompute(run_id))
        note = "Recompute started: the figures update when it finishes."
    else:
        note = "A recompute is already running; this press started nothing new."
    target = _safe_url(request, request.POST.get("next"))
    if _is_htmx(request):
        run.refresh_from_db()
        context = {"run": run, "note": note, "can_recompute": True, "reload_url": target}
        return render(request, "metrics/_recompute_status.html", context)
    messages.info(request, note)
    return redirect(target)


def _safe_url(request: HttpRequest, candidate: str | None) -> str:
    """`candidate` when it is a path on this site, else the dashboard."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("metrics:dashboard")


@require_GET
def recompute_progress(request: HttpRequest) -> HttpResponse:
    """The status line of the latest recompute; htmx polls it while a run is active."""
    context = {
        "run": selectors.recompute_run_latest(),
        "can_recompute": can_recompute(request.user),
        "reload_url": _safe_url(request, request.headers.get("HX-Current-URL")),
    }
    return render(request, "metrics/_recompute_status.html", context)
