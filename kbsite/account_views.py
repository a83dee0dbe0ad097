"""A person's own account pages: sign-in (rate limited), profile with API tokens, and webhooks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import LoginView
from django.core.paginator import Paginator
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from kbsite.account_forms import (
    RATE_LIMITED,
    RateLimitedAuthenticationForm,
    TokenCreateForm,
    WebhookCreateForm,
    expiry_from_date,
)
from kbsite.errors import DomainError
from kbsite.models import WEBHOOK_EVENTS, ApiToken
from kbsite.roles import user_roles
from kbsite.selectors import user_teams
from kbsite.services import CatalogError, api_token_issue, api_token_revoke
from kbsite.webhooks import selectors as webhook_selectors
from kbsite.webhooks import services as webhook_services

DELIVERIES_PER_PAGE = 50
ISSUED_TOKEN = "account_issued_token"  # noqa: S105 - a session key name
ISSUED_WEBHOOK = "account_issued_webhook"


class SignInView(LoginView):
    """Django's sign-in page with the attempt limits of kbsite.ratelimit (429 when over them)."""

    authentication_form = RateLimitedAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        attempt = getattr(form, "attempt", None)
        if form.has_error("__all__", RATE_LIMITED) and attempt is not None:
            response.status_code = 429
            response["Retry-After"] = str(attempt.retry_after)
        return response


def _no_store(response: HttpResponse) -> HttpResponse:
    """A page showing a secret once must not be kept by the browser or a proxy."""
    response["Cache-Control"] = "no-store"
    return response


def token_status(token: ApiToken, *, now: Any) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def _form_status(form: BaseForm) -> int:
    return 400 if form.is_bound and form.errors else 200


# --- profile and API tokens -------------------------------------------------------------------


@dataclass(frozen=True)
class ShownOnce:
    """A secret made by the last POST, carried to the page it redirects to, then forgotten."""

    object: Any
    secret: str


def _keep_once(request: HttpRequest, slot: str, *, pk: int, secret: str) -> None:
    # Post/redirect/get: reloading the page must not create a second token. The secret waits in
    # the session only until the redirected GET shows it.
    request.session[slot] = {"pk": pk, "secret": secret}


def _take_once(request: HttpRequest, slot: str, queryset: Any) -> ShownOnce | None:
    kept = request.session.pop(slot, None)
    if not isinstance(kept, dict):
        return None
    found = queryset.filter(pk=kept.get("pk")).first()
    return ShownOnce(object=found, secret=str(kept.get("secret"))) if found else None


@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """Who you are, and your API tokens: create one (its key shown once), list, revoke."""
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = api_token_issue(
                user=request.user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_at=expiry_from_date(form.cleaned_data["expires_on"]),
            )
        except CatalogError as error:
            form.add_error(None, str(error))
        else:
            _keep_once(request, ISSUED_TOKEN, pk=issued.token.pk, secret=issued.key)
            return redirect(reverse("account:profile") + "#new-token")
    mine = ApiToken.objects.filter(user=request.user)  # type: ignore[misc]
    shown = _take_once(request, ISSUED_TOKEN, mine)
    now = timezone.now()
    context = {
        "form": form,
        "issued": shown,
        "tokens": [(token, token_status(token, now=now)) for token in mine.order_by("-created_at")],
        "roles": sorted(user_roles(request.user)),
        "teams": user_teams(user=request.user),  # type: ignore[arg-type]
    }
    response = render(request, "account/profile.html", context, status=_form_status(form))
    return _no_store(response) if shown else response


@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm; POST revokes. Someone else's token does not exist here (404)."""
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if request.method == "GET":
        return render(request, "account/token_revoke.html", {"token": token})
    if token.revoked_at is not None:
        messages.info(request, f"The token “{token.name}” was already revoked.")
    else:
        api_token_revoke(token=token)
        messages.success(
            request, f"Revoked “{token.name}”: anything using it is now refused by the API."
        )
    return redirect("account:profile")


# --- webhooks ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def webhooks(request: HttpRequest) -> HttpResponse:
    """Your webhooks, and a form to add one (its secret shown once)."""
    form = WebhookCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = webhook_services.webhook_subscription_create(
                owner=request.user,
                name=form.cleaned_data["name"],
                target_url=form.cleaned_data["target_url"],
                events=form.cleaned_data["events"],
            )
        except DomainError as error:
            field = error.field if error.field in form.fields else None
            form.add_error(field, error.message)
        else:
            _keep_once(request, ISSUED_WEBHOOK, pk=issued.subscription.pk, secret=issued.secret)
            return redirect(reverse("account:webhooks") + "#new-secret")
    mine = webhook_selectors.webhook_subscriptions_for_user(user=request.user)
    shown = _take_once(request, ISSUED_WEBHOOK, mine)
    context = {"form": form, "issued": shown, "subscriptions": mine, "events": WEBHOOK_EVENTS}
    response = render(request, "account/webhooks.html", context, status=_form_status(form))
    return _no_store(response) if shown else response


def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = webhook_selectors.webhook_subscription_get_for_user(pk=pk, user=request.user)
    deliveries = webhook_selectors.webhook_deliveries_for_subscription(subscription=subscription)
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    previous_url = f"?page={page.previous_page_number()}" if page.has_previous() else None
    next_url = f"?page={page.next_page_number()}" if page.has_next() else None
    context = {
        "subscription": subscription,
        "deliveries": page,
        "previous_url": previous_url,
        "next_url": next_url,
        "events": WEBHOOK_EVENTS,
    }
    return render(request, "account/webhook_detail.html", context)


@require_POST
def webhook_pause(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = webhook_selectors.webhook_subscription_get_for_user(pk=pk, user=request.user)
    try:
        webhook_services.webhook_subscription_pause(subscription=subscription)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Paused “{subscription.name}”: no events are sent to it.")
    return redirect("account:webhook_detail", pk=subscription.pk)


@require_POST
def webhook_resume(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = webhook_selectors.webhook_subscription_get_for_user(pk=pk, user=request.user)
    try:
        webhook_services.webhook_subscription_resume(subscription=subscription)
    except DomainError as error:
        messages.error(request, f"Not resumed: {error.message}")
    else:
        messages.success(request, f"Resumed “{subscription.name}”: new events are sent again.")
    return redirect("account:webhook_detail", pk=subscription.pk)


@require_http_methods(["GET", "POST"])
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm; POST deletes the webhook and its delivery log."""
    subscription = webhook_selectors.webhook_subscription_get_for_user(pk=pk, user=request.user)
    if request.method == "GET":
        return render(request, "account/webhook_delete.html", {"subscription": subscription})
    webhook_services.webhook_subscription_delete(subscription=subscription)
    messages.success(request, f"Deleted the webhook “{subscription.name}”.")
    return redirect("account:webhooks")
