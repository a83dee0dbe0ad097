from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kbsite.api.errors import is_api_request, plain_error_response
from kbsite.health import run_checks
from kbsite.roles import user_roles
from kbsite.selectors import user_teams


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "roles": sorted(user_roles(request.user)),
        "teams": user_teams(user=request.user),  # type: ignore[arg-type]
    }
    return render(request, "home.html", context)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Public liveness and readiness: 200 when every configured part answers, 503 otherwise."""
    checks = run_checks()
    healthy = all(check.ok for check in checks)
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": {check.name: check.as_dict() for check in checks},
    }
    return JsonResponse(body, status=200 if healthy else 503)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_request(request):
        return plain_error_response(400)
    return render(request, "400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_request(request):
        return plain_error_response(403)
    return render(request, "403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_request(request):
        return plain_error_response(404)
    return render(request, "404.html", status=404)
