"""Forms of the knowledge pages. They validate shape only and hand clean values to the services,
like the API's input serializers do."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.text import slugify

from kbsite.models import Service, Tag, Team
from knowledge.models import (
    CONTENT_FIELDS,
    MAX_FIELD_LENGTH,
    MAX_TAGS,
    ArticleFeedback,
    ArticleState,
    KnowledgeType,
)
from knowledge.search import MAX_OFFSET, SORTS, SearchFilters
from knowledge.services import ArticleContent

PAGE_SIZE = 20
MAX_PAGE = MAX_OFFSET // PAGE_SIZE + 1
MAX_QUERY_LENGTH = 2000
MAX_TAG_LENGTH = 50
MAX_COMMENT_LENGTH = 5000

CONTENT_LABELS = {
    "symptoms": "Symptoms",
    "environment": "Environment",
    "cause": "Cause",
    "resolution": "Resolution",
    "prevention": "Prevention",
    "body": "Body",
}
CONTENT_HELP = {
    "symptoms": "What a responder sees: error messages, alerts, user reports, in their words.",
    "environment": "Where it happens: services, versions, regions, configuration.",
    "cause": "Why it happens.",
    "resolution": "The steps that fix it, in order.",
    "prevention": "What stops it from happening again.",
    "body": "Anything else worth knowing. Markdown: tables, fenced code, headings.",
}
SORT_LABELS = {
    "relevance": "Best match",
    "updated": "Recently updated",
    "helpful": "Most helpful",
    "title": "Title",
}


def _blank(label: str) -> list[tuple[str, str]]:
    return [("", label)]


class SearchForm(forms.Form):
    """The search and list page: query, filters, sort and page. Invalid parts are ignored."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=MAX_QUERY_LENGTH,
        error_messages={
            "max_length": f"Searches are limited to {MAX_QUERY_LENGTH:,} characters: "
            "use the few words that matter most."
        },
    )
    knowledge_type = forms.ChoiceField(
        label="Type", required=False, choices=_blank("Any type") + list(KnowledgeType.choices)
    )
    state = forms.ChoiceField(
        label="State", required=False, choices=_blank("Any but archived") + ArticleState.choices
    )
    service = forms.ChoiceField(label="Service", required=False)
    tag = forms.ChoiceField(label="Tag", required=False)
    team = forms.ChoiceField(label="Team", required=False)
    sort = forms.ChoiceField(
        label="Sort", required=False, choices=[(key, SORT_LABELS[key]) for key in SORTS]
    )
    page = forms.IntegerField(label="Page", required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One query per catalog select.
        catalog = {
            "service": ("Any service", Service.objects.order_by("name")),
            "tag": ("Any tag", Tag.objects.order_by("name")),
            "team": ("Any team", Team.objects.order_by("name")),
        }
        for name, (empty, queryset) in catalog.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = _blank(empty) + list(queryset.values_list("slug", "name"))

    def clean_q(self) -> str:
        return " ".join(self.cleaned_data.get("q", "").split())

    def clean_page(self) -> int:
        return min(self.cleaned_data.get("page") or 1, MAX_PAGE)

    def value(self, name: str) -> Any:
        """The cleaned value, or the empty value when that part of the input was invalid."""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        return self.cleaned_data.get(name) or None

    def filters(self) -> SearchFilters:
        return SearchFilters(
            knowledge_type=self.value("knowledge_type"),
            state=self.value("state"),
            service=self.value("service"),
            tag=self.value("tag"),
            team=self.value("team"),
        )

    def has_filters(self) -> bool:
        return any(
            self.value(name) for name in ("knowledge_type", "state", "service", "tag", "team")
        )


class TagsField(forms.CharField):
    """Comma-separated tag names, cleaned into a list without duplicates (case-insensitive)."""

    def clean(self, value: Any) -> list[str]:
        text = super().clean(value) or ""
        names: list[str] = []
        seen: set[str] = set()
        for raw in text.split(","):
            name = " ".join(raw.split())
            if not name:
                continue
            if len(name) > MAX_TAG_LENGTH:
                raise ValidationError(
                    f"The tag “{name[:20]}…” is longer than {MAX_TAG_LENGTH} characters."
                )
            if not slugify(name):
                raise ValidationError(f"The tag “{name}” needs at least one letter or digit.")
            if name.lower() not in seen:
                seen.add(name.lower())
                names.append(name)
        if len(names) > MAX_TAGS:
            raise ValidationError(
                f"An article can carry at most {MAX_TAGS} tags; this has {len(names)}."
            )
        return names


class ArticleForm(forms.Form):
    """Create or edit an article's content. `version` is the version the editor loaded."""

    title = forms.CharField(
        max_length=200,
        error_messages={"required": "Give the article a title: what a responder would look for."},
    )
    knowledge_type = forms.ChoiceField(
        label="Kind of knowledge", choices=KnowledgeType.choices, initial=KnowledgeType.TECHNICAL
    )
    symptoms = forms.CharField(required=False)
    environment = forms.CharField(required=False)
    cause = forms.CharField(required=False)
    resolution = forms.CharField(required=False)
    prevention = forms.CharField(required=False)
    body = forms.CharField(required=False)
    team = forms.ModelChoiceField(
        label="Owning team",
        queryset=Team.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="No team",
        error_messages={"invalid_choice": "That team does not exist: pick one from the list."},
    )
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        help_text="Hold Ctrl (⌘ on a Mac) to pick more than one.",
        error_messages={
            "invalid_choice": "There is no service “%(value)s”: pick services from the list."
        },
    )
    tags = TagsField(
        required=False,
        help_text=f"Comma-separated, at most {MAX_TAGS}: tls, certificates, nginx.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    change_note = forms.CharField(
        label="Change note",
        required=False,
        max_length=500,
        help_text="What changed and why, for the history.",
    )
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, require_version: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].required = require_version
        self.fields["version"].error_messages["required"] = (
            "The form lost track of the version you edited: reload the page and try again."
        )
        for name in CONTENT_FIELDS:
            field = self.fields[name]
            field.label = CONTENT_LABELS[name]
            field.help_text = CONTENT_HELP[name]
            field.validators.append(_max_length_validator)
            field.widget = forms.Textarea(
                attrs={
                    "rows": 6,
                    "class": "mono",
                    # Live preview with htmx; without JavaScript the form works the same.
                    "hx-post": reverse("knowledge:markdown_preview"),
                    "hx-trigger": "keyup changed delay:500ms, change",
                    "hx-target": f"#preview-{name}",
                    "hx-params": name,  # not the whole form: only this field
                    "hx-swap": "innerHTML",
                    "hx-sync": "this:replace",
                }
            )

    def content(self) -> ArticleContent:
        data = self.cleaned_data
        return ArticleContent(
            title=data["title"],
            knowledge_type=data["knowledge_type"],
            team=data.get("team"),
            services=list(data.get("services") or []),
            tag_names=list(data.get("tags") or []),
            **{name: data.get(name, "") for name in CONTENT_FIELDS},
        )


def _max_length_validator(value: str) -> None:
    if len(value) > MAX_FIELD_LENGTH:
        raise ValidationError(
            f"This field is limited to {MAX_FIELD_LENGTH:,} characters (it has {len(value):,}): "
            "move long logs into an attachment."
        )


def article_form_initial(article: Any) -> dict[str, Any]:
    """The edit form's starting values from the article as it is saved."""
    return {
        "title": article.title,
        "knowledge_type": article.knowledge_type,
        **{name: getattr(article, name) for name in CONTENT_FIELDS},
        "team": article.team.slug if article.team else None,
        "services": [service.slug for service in article.services.all()],
        "tags": ", ".join(tag.name for tag in article.tags.all()),
        "version": article.version,
    }


PREFILL_FIELDS = ("title", "knowledge_type", *CONTENT_FIELDS, "team", "tags")


def article_form_prefill(params: Any) -> dict[str, Any]:
    """Starting values for a new article from GET parameters (a finding spawning a draft).

    Values are only shown in the form: they are validated when the person saves it.
    `services` may repeat or be comma-separated slugs.
    """
    initial: dict[str, Any] = {}
    for name in PREFILL_FIELDS:
        value = params.get(name)
        if value:
            initial[name] = value[:MAX_FIELD_LENGTH]
    services: list[str] = []
    for value in params.getlist("services"):
        services.extend(slug.strip() for slug in value.split(",") if slug.strip())
    if services:
        initial["services"] = services
    return initial


class FeedbackForm(forms.Form):
    kind = forms.ChoiceField(choices=ArticleFeedback.Kind.choices)
    comment = forms.CharField(
        required=False,
        max_length=MAX_COMMENT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("kind") == ArticleFeedback.Kind.OUTDATED
            and not data.get("comment", "").strip()
        ):
            self.add_error("comment", "Say what is outdated, so that the owner can fix it.")
        return data


class TransitionForm(forms.Form):
    comment = forms.CharField(
        required=False, max_length=MAX_COMMENT_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, require_comment: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.require_comment = require_comment

    def clean_comment(self) -> str:
        comment = self.cleaned_data.get("comment", "").strip()
        if self.require_comment and not comment:
            raise ValidationError("Say what needs to change: the author sees this comment.")
        return comment


class FlagsResolveForm(forms.Form):
    comment = forms.CharField(
        required=False, max_length=MAX_COMMENT_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )


class RevertForm(forms.Form):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    change_note = forms.CharField(required=False, max_length=500)


class DiffForm(forms.Form):
    """Two revision numbers, named `from` and `to` as in the page's address."""

    def __init__(self, *args: Any, numbers: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(number, f"Revision {number}") for number in numbers]
        for name, label in (("from", "From revision"), ("to", "To revision")):
            self.fields[name] = forms.TypedChoiceField(
                label=label,
                choices=choices,
                coerce=int,
                error_messages={
                    "required": "Pick two revisions to compare.",
                    "invalid_choice": "There is no such revision of this article.",
                },
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("from") is not None and data.get("from") == data.get("to"):
            raise ValidationError("Pick two different revisions to compare.")
        return data


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label="Image, diagram or PDF",
        help_text="PNG, JPEG, GIF, WebP, SVG or PDF, up to 5 MB.",
        error_messages={
            "required": "Choose a file to upload.",
            "empty": "The file is empty.",
        },
    )


class VideoLinkForm(forms.Form):
    url = forms.URLField(
        label="Video address",
        max_length=500,
        assume_scheme="https",
        help_text="An https:// link to a recording or walkthrough.",
    )
    title = forms.CharField(label="Video title", max_length=200)


class SearchGapDismissForm(forms.Form):
    gap = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class MarkdownPreviewForm(forms.Form):
    text = forms.CharField(required=False, strip=False)

    def clean_text(self) -> str:
        text = self.cleaned_data.get("text", "")
        _max_length_validator(text)
        return text
