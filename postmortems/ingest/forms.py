"""Forms of the integration pages: shapes only; the services decide the rules."""

from __future__ import annotations

from django import forms

from kbsite.models import Service, Team
from postmortems.models import AlertSource, Severity


class IntegrationCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What sends the alerts: “Prod Alertmanager”.")
    source = forms.ChoiceField(choices=AlertSource.choices, label="Alerting tool")
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        empty_label="Choose a team",
        help_text="The team that owns the incidents it opens.",
    )
    default_severity = forms.ChoiceField(
        choices=Severity.choices,
        initial=Severity.SEV3,
        label="Default severity",
        help_text="For alerts whose severity label or priority names none kbsite knows.",
    )
    default_services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.order_by("name"),
        required=False,
        label="Default services",
        help_text="For alerts whose service label matches no catalog service.",
    )
    signing_secret = forms.CharField(
        required=False,
        max_length=200,
        label="PagerDuty signing secret",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="PagerDuty only, optional: the secret PagerDuty shows for the webhook "
        "subscription. You can add it later, once PagerDuty has made it.",
    )


class SigningSecretForm(forms.Form):
    signing_secret = forms.CharField(
        required=False,
        max_length=200,
        label="PagerDuty signing secret",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Empty stops checking X-PagerDuty-Signature.",
    )
