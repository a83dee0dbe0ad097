"""Forms of the account pages: sign-in (rate limited), API tokens and webhooks.

They validate shape only and hand clean values to the services, like the API's serializers.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from kbsite.models import WEBHOOK_EVENTS, ApiToken
from kbsite.ratelimit import SignInAttempt, signin_attempt

RATE_LIMITED = "rate_limited"


class RateLimitedAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, counting each attempt before the password is even checked.

    A refused attempt never reaches `authenticate`, so guessing stops at the limit however many
    requests arrive at once. A correct password gives its slots back: only failures count.
    """

    attempt: SignInAttempt | None = None

    def clean(self) -> dict[str, Any]:
        username = str(self.data.get("username", ""))[:150]
        if self.request is None:
            return super().clean()
        self.attempt = signin_attempt(request=self.request, username=username)
        if not self.attempt.allowed:
            minutes = max(1, -(-self.attempt.retry_after // 60))
            unit = "minute" if minutes == 1 else "minutes"
            raise forms.ValidationError(
                f"Too many sign-in attempts; try again in {minutes} {unit}.",
                code=RATE_LIMITED,
            )
        cleaned = super().clean()
        if self.user_cache is not None:
            self.attempt.refund()
        return cleaned


def expiry_from_date(value: date | None) -> datetime | None:
    """A token with an expiry date works through that whole day (in the site's time zone)."""
    if value is None:
        return None
    return timezone.make_aware(datetime.combine(value + timedelta(days=1), time.min))


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What uses it, so you know later which one to revoke: “Alertmanager”.",
    )
    scope = forms.ChoiceField(
        choices=ApiToken.Scope.choices,
        initial=ApiToken.Scope.READ,
        widget=forms.RadioSelect,
        help_text="Read only is enough for reading postmortems, articles and KPIs.",
    )
    expires_on = forms.DateField(
        required=False,
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. The token stops working after this day. Leave empty for no expiry.",
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the token a name.")
        return name

    def clean_expires_on(self) -> date | None:
        value = self.cleaned_data["expires_on"]
        if value is not None and value < timezone.localdate():
            raise forms.ValidationError("The expiry date must be today or later.")
        return value


class WebhookCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What receives it: “Chat bridge”.")
    target_url = forms.CharField(
        label="Target URL",
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/kbsite"}),
        help_text="http or https. Private and internal addresses are refused.",
    )
    events = forms.MultipleChoiceField(
        choices=[(key, f"{key} — {text}") for key, text in WEBHOOK_EVENTS.items()],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event."},
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the webhook a name.")
        return name
