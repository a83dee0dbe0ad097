"""The dashboard's filters. They only validate shape; the selectors read the figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from kbsite.errors import InvalidInput
from kbsite.models import Service, Team
from metrics.periods import ALL, SEVERITIES, Period, Scope, add_months, month_period, parse_month

TREND_MONTHS = 13
# Snapshots are monthly, so a trend longer than this is a wall of empty months, not a chart.
MAX_TREND_MONTHS = 60


@dataclass(frozen=True)
class DashboardFilters:
    scope: Scope
    months: list[Period]  # oldest first; the last one is the headline period

    @property
    def period(self) -> Period:
        return self.months[-1]

    @property
    def previous(self) -> Period:
        return self.period.previous()

    def query(self) -> dict[str, str]:
        """The GET parameters that select these filters again (for links and exports)."""
        params = {"start": f"{self.months[0].start:%Y-%m}", "end": f"{self.period.start:%Y-%m}"}
        if self.scope.kind != "all":
            params[self.scope.kind] = self.scope.slug
        return params


def month_list(first: Period, last: Period) -> list[Period]:
    months = []
    current = first.start
    while current <= last.start:
        months.append(month_period(current))
        current = add_months(current, 1)
    return months


class DashboardFilterForm(forms.Form):
    team = forms.ChoiceField(required=False, label="Team")
    service = forms.ChoiceField(required=False, label="Service")
    severity = forms.ChoiceField(required=False, label="Severity")
    start = forms.CharField(
        required=False,
        max_length=7,
        label="From month",
        help_text="YYYY-MM; the trend starts here.",
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )
    end = forms.CharField(
        required=False,
        max_length=7,
        label="To month",
        help_text="YYYY-MM; the headline figures are for this month.",
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )

    def __init__(self, *args: Any, today: date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today or timezone.now().date()
        team_choices = list(Team.objects.order_by("name").values_list("slug", "name"))
        service_choices = list(Service.objects.order_by("name").values_list("slug", "name"))
        choices = {
            "team": [("", "Every team"), *team_choices],
            "service": [("", "Every service"), *service_choices],
            "severity": [("", "Every severity")]
            + [(severity, severity.upper()) for severity in SEVERITIES],
        }
        for name, options in choices.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = options
        for name in ("team", "service", "severity"):
            self.fields[name].error_messages["invalid_choice"] = (
                f"There is no {name} %(value)s: choose one from the list."
            )

    def _clean_month(self, name: str) -> Period | None:
        text = (self.cleaned_data.get(name) or "").strip()
        if not text:
            return None
        try:
            return parse_month(text)
        except InvalidInput as error:
            raise forms.ValidationError(error.message) from None

    def clean_start(self) -> Period | None:
        return self._clean_month("start")

    def clean_end(self) -> Period | None:
        return self._clean_month("end")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen = [name for name in ("team", "service", "severity") if cleaned.get(name)]
        if len(chosen) > 1:
            raise forms.ValidationError(
                "Choose one of team, service or severity: figures are kept for each of them, "
                "not for combinations."
            )
        if "start" not in cleaned or "end" not in cleaned:
            return cleaned  # a month was malformed; its own error says so
        end = cleaned["end"] or month_period(self.today)
        start = cleaned["start"] or month_period(add_months(end.start, 1 - TREND_MONTHS))
        if start > end:
            raise forms.ValidationError("The start month is after the end month: swap them.")
        months = month_list(start, end)
        if len(months) > MAX_TREND_MONTHS:
            raise forms.ValidationError(
                f"That is {len(months)} months; choose at most {MAX_TREND_MONTHS}."
            )
        scope = ALL
        if chosen:
            scope = Scope(kind=chosen[0], slug=cleaned[chosen[0]])
        cleaned["filters"] = DashboardFilters(scope=scope, months=months)
        return cleaned

    @property
    def filters(self) -> DashboardFilters:
        return self.cleaned_data["filters"]
