"""Forms of the postmortems pages. They validate shape only and hand clean values to the
services (postmortems.services), which hold every rule; a service's refusal is shown beside the
field it names."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from kbsite.models import Service, Team
from knowledge.forms import TagsField
from postmortems.models import (
    ActionItem,
    Finding,
    IncidentStatus,
    PostmortemState,
    PostmortemTemplate,
    RootCauseCategory,
    Severity,
    TimelineEntry,
    Visibility,
)
from postmortems.services.common import (
    MAX_ACTION_TITLE_LENGTH,
    MAX_CHANGE_NOTE_LENGTH,
    MAX_COMMENT_LENGTH,
    MAX_FINDING_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_REASON_LENGTH,
    MAX_REVIEW_COMMENT_LENGTH,
    MAX_SECTION_LENGTH,
    MAX_SUMMARY_LENGTH,
    MAX_TIMELINE_TEXT_LENGTH,
    MAX_TITLE_LENGTH,
    MAX_URL_LENGTH,
)

PAGE_SIZE = 25
MAX_PAGE = 400
MAX_QUERY_LENGTH = 200
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
UTC_HELP = "UTC."


def _blank(label: str) -> list[tuple[str, str]]:
    return [("", label)]


def _too_long(what: str, limit: int) -> dict[str, str]:
    return {"max_length": f"The {what} is too long: at most {limit:,} characters fit."}


def utc_local(value: datetime | None) -> str:
    """An aware datetime as a datetime-local input value, in UTC."""
    return value.astimezone(UTC).strftime(DATETIME_LOCAL) if value else ""


class UTCDateTimeField(forms.DateTimeField):
    """A datetime-local input read as UTC, whatever the server's time zone."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL)
    default_error_messages = {"invalid": "Give a date and time like 2026-03-01 14:05 (UTC)."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", UTC_HELP)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return utc_local(value)
        return value

    def to_python(self, value: Any) -> datetime | None:
        result = super().to_python(value)
        if result is None:
            return None
        naive = timezone.make_naive(result, UTC) if timezone.is_aware(result) else result
        return naive.replace(tzinfo=UTC)


def _people() -> Any:
    return get_user_model().objects.filter(is_active=True).order_by("username")


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        full = obj.get_full_name()
        return f"{full} ({obj.username})" if full else obj.username


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        full = obj.get_full_name()
        return f"{full} ({obj.username})" if full else obj.username


# ---------- Incident list ----------


class IncidentFilterForm(forms.Form):
    """The incident list's search box and filters; invalid parts are ignored, not refused."""

    q = forms.CharField(label="Search titles", required=False, max_length=MAX_QUERY_LENGTH)
    severity = forms.ChoiceField(
        required=False, choices=_blank("Any severity") + list(Severity.choices)
    )
    status = forms.ChoiceField(
        required=False, choices=_blank("Any status") + list(IncidentStatus.choices)
    )
    team = forms.ChoiceField(required=False)
    service = forms.ChoiceField(required=False)
    started_from = forms.DateField(
        label="Started from",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="UTC date.",
    )
    started_to = forms.DateField(
        label="Started to",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="UTC date, included.",
    )
    postmortem_state = forms.ChoiceField(
        label="Postmortem",
        required=False,
        choices=[*_blank("Any"), ("none", "Not started"), *list(PostmortemState.choices)],
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    FILTERS = ("severity", "status", "team", "service", "started_from", "started_to")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team = self.fields["team"]
        service = self.fields["service"]
        assert isinstance(team, forms.ChoiceField) and isinstance(service, forms.ChoiceField)
        team.choices = _blank("Any team") + list(
            Team.objects.order_by("name").values_list("slug", "name")
        )
        service.choices = _blank("Any service") + list(
            Service.objects.order_by("name").values_list("slug", "name")
        )

    def value(self, name: str) -> Any:
        """The cleaned value, or None when that part was empty or invalid."""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        return self.cleaned_data.get(name) or None

    def page_number(self) -> int:
        return min(self.value("page") or 1, MAX_PAGE)

    def has_filters(self) -> bool:
        return any(self.value(name) for name in (*self.FILTERS, "postmortem_state", "q"))


# ---------- Incident create and edit ----------


class IncidentForm(forms.Form):
    title = forms.CharField(
        max_length=MAX_TITLE_LENGTH,
        error_messages={"required": "Give the incident a title.", **_too_long("title", 200)},
    )
    summary = forms.CharField(
        required=False,
        max_length=MAX_SUMMARY_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Markdown. What happened and who was affected.",
        error_messages=_too_long("summary", MAX_SUMMARY_LENGTH),
    )
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.SEV3)
    team = forms.ModelChoiceField(
        label="Owning team",
        queryset=Team.objects.order_by("name"),
        to_field_name="slug",
        error_messages={
            "required": "Choose the team that owns the incident.",
            "invalid_choice": "That team does not exist: pick one from the list.",
        },
    )
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        help_text="Hold Ctrl (⌘ on a Mac) to pick more than one.",
        error_messages={"invalid_choice": "There is no service “%(value)s”."},
    )
    tags = TagsField(required=False, help_text="Comma-separated: tls, deploy, dns.")
    commander = PersonChoiceField(
        label="Incident commander", queryset=_people(), required=False, to_field_name="username"
    )
    responders = PeopleChoiceField(
        queryset=_people(),
        required=False,
        to_field_name="username",
        help_text="They write the postmortem with the commander and the owning team.",
    )
    started_at = UTCDateTimeField(
        label="Started at", error_messages={"required": "Give the time the incident started."}
    )
    detected_at = UTCDateTimeField(label="Detected at", required=False)
    mitigated_at = UTCDateTimeField(label="Mitigated at", required=False)
    resolved_at = UTCDateTimeField(label="Resolved at", required=False)
    visibility = forms.ChoiceField(
        choices=Visibility.choices, initial=Visibility.INTERNAL, widget=forms.RadioSelect
    )
    root_cause_category = forms.ModelChoiceField(
        label="Root cause category",
        queryset=RootCauseCategory.objects.filter(is_active=True),
        to_field_name="slug",
        required=False,
        empty_label="Not known yet",
    )
    external_source = forms.CharField(
        label="External source", required=False, max_length=50, help_text="For example pagerduty."
    )
    external_id = forms.CharField(label="External id", required=False, max_length=200)
    external_url = forms.URLField(
        label="External link",
        required=False,
        max_length=MAX_URL_LENGTH,
        assume_scheme="https",
        error_messages={"invalid": "Give the external link as an http or https address."},
    )
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    SERVICE_ARGUMENTS = (
        "title",
        "summary",
        "severity",
        "team",
        "services",
        "commander",
        "responders",
        "started_at",
        "detected_at",
        "mitigated_at",
        "resolved_at",
        "visibility",
        "root_cause_category",
        "external_source",
        "external_id",
        "external_url",
    )

    def __init__(self, *args: Any, require_version: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].required = require_version

    def service_values(self) -> dict[str, Any]:
        values = {name: self.cleaned_data[name] for name in self.SERVICE_ARGUMENTS}
        values["services"] = list(values["services"])
        values["responders"] = list(values["responders"])
        values["tag_names"] = self.cleaned_data["tags"]
        return values


def incident_form_initial(incident: Any) -> dict[str, Any]:
    return {
        "title": incident.title,
        "summary": incident.summary,
        "severity": incident.severity,
        "team": incident.team.slug,
        "services": [service.slug for service in incident.services.all()],
        "tags": ", ".join(tag.name for tag in incident.tags.all()),
        "commander": incident.commander.username if incident.commander else None,
        "responders": [person.username for person in incident.responders.all()],
        "started_at": incident.started_at,
        "detected_at": incident.detected_at,
        "mitigated_at": incident.mitigated_at,
        "resolved_at": incident.resolved_at,
        "visibility": incident.visibility,
        "root_cause_category": (
            incident.root_cause_category.slug if incident.root_cause_category else None
        ),
        "external_source": incident.external_source,
        "external_id": incident.external_id,
        "external_url": incident.external_url,
        "version": incident.version,
    }


STATUS_ACTIONS = {
    "mitigate": IncidentStatus.MITIGATED,
    "resolve": IncidentStatus.RESOLVED,
    "close": IncidentStatus.CLOSED,
}


class IncidentStatusForm(forms.Form):
    action = forms.ChoiceField(choices=[(key, key) for key in STATUS_ACTIONS])
    version = forms.IntegerField(min_value=1)


# ---------- Postmortem ----------


class PostmortemStartForm(forms.Form):
    template = forms.ModelChoiceField(
        queryset=PostmortemTemplate.objects.filter(is_current=True).order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="The default for this severity",
        error_messages={"invalid_choice": "Choose a template from the list."},
    )


class SectionsForm(forms.Form):
    """One textarea per section of the postmortem's template, plus the version it was loaded at."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    change_note = forms.CharField(
        label="Change note",
        required=False,
        max_length=MAX_CHANGE_NOTE_LENGTH,
        help_text="Optional: what you changed, for the history.",
    )

    def __init__(self, *args: Any, sections: list[Any], lint_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.section_keys = [section.key for section in sections]
        for section in sections:
            attrs: dict[str, str] = {"rows": "8", "class": "mono"}
            if lint_url:
                # htmx: live preview and blameless lint of this section while typing.
                attrs.update(
                    {
                        "hx-post": lint_url,
                        "hx-trigger": "keyup changed delay:600ms",
                        "hx-target": f"#lint-{section.key}",
                        "hx-vals": json.dumps({"section": section.key}),
                        "aria-describedby": f"prompt-{section.key}",
                    }
                )
            self.fields[section.key] = forms.CharField(
                label=section.heading,
                required=False,
                strip=False,
                max_length=MAX_SECTION_LENGTH,
                help_text=section.prompt,
                widget=forms.Textarea(attrs=attrs),
                error_messages=_too_long(f"section “{section.heading}”", MAX_SECTION_LENGTH),
            )

    def sections(self) -> dict[str, str]:
        return {key: self.cleaned_data[key] for key in self.section_keys}


class AutosaveForm(SectionsForm):
    def based_on_version(self) -> int:
        return int(self.cleaned_data["version"])


class LintForm(forms.Form):
    section = forms.SlugField(max_length=50)


class SectionCommentForm(forms.Form):
    section_key = forms.SlugField(max_length=50, widget=forms.HiddenInput)
    text = forms.CharField(
        label="Comment",
        max_length=MAX_COMMENT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write the comment.", **_too_long("comment", 5000)},
    )


TRANSITION_ACTIONS = ("submit", "request-changes", "approve", "publish")


class TransitionForm(forms.Form):
    comment = forms.CharField(
        required=False,
        max_length=MAX_REVIEW_COMMENT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages=_too_long("comment", MAX_REVIEW_COMMENT_LENGTH),
    )
    acknowledge_warnings = forms.BooleanField(
        required=False, label="I have read the blameless-language warnings; publish anyway"
    )
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


# ---------- Findings ----------

OUTCOME_CHOICES = [
    ("", "Decide later"),
    ("link", "Link an existing article"),
    ("spawn", "Spawn a new draft article from this finding"),
    ("nothing", "Nothing to capture"),
]


class FindingForm(forms.Form):
    """A finding and, optionally, its knowledge outcome. `link_article` is the id sent by a
    "Link" button of the inline search; `article` the id typed by hand (without JavaScript)."""

    text = forms.CharField(
        label="Finding",
        max_length=MAX_FINDING_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Describe the finding.", **_too_long("finding", 10_000)},
    )
    kind = forms.ChoiceField(choices=Finding.Kind.choices)
    outcome = forms.ChoiceField(
        label="Knowledge outcome", choices=OUTCOME_CHOICES, required=False, widget=forms.RadioSelect
    )
    article = forms.IntegerField(
        label="Article number",
        required=False,
        min_value=1,
        help_text="Or search below and press Link.",
    )
    link_article = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    no_article_reason = forms.CharField(
        label="Why there is nothing to capture",
        required=False,
        max_length=MAX_REASON_LENGTH,
        error_messages=_too_long("reason", MAX_REASON_LENGTH),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        linked = data.get("link_article") or data.get("article")
        outcome = "link" if data.get("link_article") else data.get("outcome") or ""
        if outcome == "link" and not linked:
            self.add_error(
                "article", "Choose the article to link: search for it, or type its number."
            )
        if outcome == "nothing" and not (data.get("no_article_reason") or "").strip():
            self.add_error("no_article_reason", "Say why there is nothing to capture.")
        data["outcome"] = outcome
        data["article_id"] = linked if outcome == "link" else None
        return data


class FindingEditForm(FindingForm):
    text = forms.CharField(
        label="Finding",
        required=False,
        max_length=MAX_FINDING_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages=_too_long("finding", 10_000),
    )
    kind = forms.ChoiceField(choices=Finding.Kind.choices, required=False)


MOVE_ACTIONS = ("save", "delete", "up", "down")


class MoveForm(forms.Form):
    """Which button of an edit form was pressed."""

    action = forms.ChoiceField(choices=[(action, action) for action in MOVE_ACTIONS])


class ArticleSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=MAX_QUERY_LENGTH)
    purpose = forms.ChoiceField(required=False, choices=[("link", "link"), ("use", "use")])
    # The prefix of the form the results are shown in ("finding-42"), for the button's name.
    form_prefix = forms.RegexField(required=False, regex=r"^[a-z]+-[0-9]+$", max_length=40)


# ---------- Timeline ----------


class TimelineEntryForm(forms.Form):
    occurred_at = UTCDateTimeField(
        label="When", error_messages={"required": "Give the time it happened."}
    )
    kind = forms.ChoiceField(choices=TimelineEntry.Kind.choices, initial=TimelineEntry.Kind.ACTION)
    text = forms.CharField(
        label="What happened",
        max_length=MAX_TIMELINE_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say what happened.", **_too_long("entry", 5000)},
    )


# ---------- Action items and article uses ----------


class ActionItemForm(forms.Form):
    title = forms.CharField(
        max_length=MAX_ACTION_TITLE_LENGTH,
        error_messages={"required": "Give the action item a title.", **_too_long("title", 300)},
    )
    # A text box suggesting usernames from one shared <datalist id="people-list"> on the page:
    # a select per item would repeat every person once per action item, and people type faster
    # than they scroll.
    owner = PersonChoiceField(
        queryset=_people(),
        required=False,
        to_field_name="username",
        widget=forms.TextInput(
            attrs={"list": "people-list", "autocomplete": "off", "spellcheck": "false"}
        ),
        help_text="A username; start typing to pick one.",
        error_messages={
            "invalid_choice": "No active person has the username “%(value)s”; pick one from "
            "the suggestions."
        },
    )
    priority = forms.ChoiceField(choices=ActionItem.Priority.choices, initial="p2")
    due_date = forms.DateField(
        label="Due date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Empty: 7 days for P1, 30 for P2, 90 for P3.",
        error_messages={"invalid": "Give the due date like 2026-03-31."},
    )
    status = forms.ChoiceField(choices=ActionItem.Status.choices, required=False)
    status_reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=MAX_REASON_LENGTH,
        help_text="Required for won't do.",
        error_messages=_too_long("reason", MAX_REASON_LENGTH),
    )
    tracker_url = forms.URLField(
        label="Tracker link",
        required=False,
        max_length=MAX_URL_LENGTH,
        assume_scheme="https",
        error_messages={"invalid": "Give the tracker link as an http or https address."},
    )
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


HELPED_CHOICES = [("yes", "Yes, it helped"), ("no", "No"), ("", "Not sure")]


class ArticleUseForm(forms.Form):
    article = forms.IntegerField(label="Article number", required=False, min_value=1)
    link_article = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    helped = forms.ChoiceField(
        label="Did it help?", choices=HELPED_CHOICES, required=False, widget=forms.RadioSelect
    )
    minutes_saved = forms.IntegerField(
        label="Minutes saved (estimate)",
        required=False,
        min_value=0,
        max_value=10_000,
        error_messages={
            "min_value": "Give the minutes saved as a whole number from 0 to 10,000.",
            "max_value": "Give the minutes saved as a whole number from 0 to 10,000.",
            "invalid": "Give the minutes saved as a whole number from 0 to 10,000.",
        },
    )
    note = forms.CharField(
        required=False, max_length=MAX_NOTE_LENGTH, error_messages=_too_long("note", 2000)
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["article_id"] = data.get("link_article") or data.get("article")
        if not data["article_id"] and "article" not in self.errors:
            self.add_error(
                "article", "Choose the article you used: search for it, or type its number."
            )
        data["helped_value"] = {"yes": True, "no": False}.get(data.get("helped") or "")
        return data


class ActionItemFilterForm(forms.Form):
    team = forms.ChoiceField(required=False)
    owner = forms.CharField(required=False, max_length=150, label="Owner (username)")
    overdue = forms.BooleanField(required=False, label="Overdue only")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team = self.fields["team"]
        assert isinstance(team, forms.ChoiceField)
        team.choices = _blank("Any team") + list(
            Team.objects.order_by("name").values_list("slug", "name")
        )

    def value(self, name: str) -> Any:
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        return self.cleaned_data.get(name) or None
