"""The alert integration pages under /postmortems/integrations/ (admins only; anyone else 403):
the list with a form to add one, and each integration's page with its setup, its secret (shown
once after creating or rotating), its actions and the payloads it last received."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kbsite.errors import DomainError
from kbsite.roles import Role, user_has_role
from postmortems.ingest import selectors, services
from postmortems.ingest.forms import IntegrationCreateForm, SigningSecretForm
from postmortems.models import AlertIntegration

ISSUED_SECRET = "integration_issued_secret"  # noqa: S105 - a session key name


def _admin_only(request: HttpRequest) -> None:
    if not user_has_role(request.user, Role.ADMIN):
        raise PermissionDenied("Only admins manage alert integrations.")


def _integration(request: HttpRequest, pk: int) -> AlertIntegration:
    _admin_only(request)
    integration = selectors.integration_get(pk=pk)
    if integration is None:
        raise Http404("No such integration.")
    return integration


def _keep_secret_once(request: HttpRequest, *, pk: int, secret: str) -> None:
    # Post/redirect/get: a reload must not rotate again. The secret waits in the session only
    # until the redirected page shows it.
    request.session[ISSUED_SECRET] = {"pk": pk, "secret": secret}


def _take_secret(request: HttpRequest, integration: AlertIntegration) -> str:
    kept = request.session.pop(ISSUED_SECRET, None)
    if isinstance(kept, dict) and kept.get("pk") == integration.pk:
        return str(kept.get("secret") or "")
    return ""


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
def integration_list(request: HttpRequest) -> HttpResponse:
    """The integrations, refused deliveries nobody owns, and the form to add one."""
    _admin_only(request)
    form = IntegrationCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.integration_create(user=request.user, **form.cleaned_data)
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            _keep_secret_once(request, pk=issued.integration.pk, secret=issued.secret)
            messages.success(request, f"Created the integration “{issued.integration.name}”.")
            return redirect(issued.integration.get_absolute_url() + "#setup")
    context = {
        "form": form,
        "integrations": selectors.integrations_list(),
        "unowned": selectors.payloads_unowned(),
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "postmortems/integrations/list.html", context, status=status)


@require_GET
def integration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    integration = _integration(request, pk)
    secret = _take_secret(request, integration)
    context: dict[str, Any] = {
        "integration": integration,
        "ingest_url": settings.SITE_URL + integration.get_ingest_path(),
        "secret": secret,
        "payloads": selectors.payloads_for_integration(integration=integration),
        "signing_form": SigningSecretForm(),
        "log_keep": settings.INGEST_LOG_KEEP,
        "replay_tolerance": settings.INGEST_REPLAY_TOLERANCE_SECONDS,
    }
    response = render(request, "postmortems/integrations/detail.html", context)
    return _no_store(response) if secret else response


@require_POST
def integration_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    integration = _integration(request, pk)
    issued = services.integration_rotate_secret(integration=integration, user=request.user)
    _keep_secret_once(request, pk=integration.pk, secret=issued.secret)
    messages.success(request, "Made a new secret; the old one no longer works.")
    return redirect(integration.get_absolute_url() + "#setup")


@require_POST
def integration_enable(request: HttpRequest, pk: int) -> HttpResponse:
    integration = _integration(request, pk)
    enabled = request.POST.get("enabled") == "true"
    services.integration_set_enabled(integration=integration, user=request.user, enabled=enabled)
    if enabled:
        messages.success(request, f"Enabled “{integration.name}”: its alerts open incidents.")
    else:
        messages.success(request, f"Disabled “{integration.name}”: its deliveries are refused.")
    return redirect(integration.get_absolute_url())


@require_POST
def integration_signing_secret(request: HttpRequest, pk: int) -> HttpResponse:
    integration = _integration(request, pk)
    form = SigningSecretForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("signing_secret", [])))
        return redirect(integration.get_absolute_url())
    try:
        services.integration_set_signing_secret(
            integration=integration,
            user=request.user,
            signing_secret=form.cleaned_data["signing_secret"],
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        saved = bool(form.cleaned_data["signing_secret"].strip())
        messages.success(
            request,
            "Saved the signing secret: deliveries must carry a valid X-PagerDuty-Signature."
            if saved
            else "Removed the signing secret: signatures are no longer checked.",
        )
    return redirect(integration.get_absolute_url())


@require_http_methods(["GET", "POST"])
def integration_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm; POST deletes the integration and its log (incidents stay)."""
    integration = _integration(request, pk)
    if request.method == "GET":
        return render(request, "postmortems/integrations/delete.html", {"integration": integration})
    services.integration_delete(integration=integration, user=request.user)
    messages.success(request, f"Deleted the integration “{integration.name}”.")
    return redirect(reverse("postmortems:integration_list"))
