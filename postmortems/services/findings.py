"""Findings: the lessons of a postmortem and what each became in the knowledge base."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max

from kbsite.errors import InvalidInput, StateConflict
from kbsite.events import emit
from knowledge.models import Article, KnowledgeType
from knowledge.permissions import can_view as can_view_article
from knowledge.services import ArticleContent, article_create
from postmortems.models import Finding, Postmortem, PostmortemState
from postmortems.services.common import (
    MAX_FINDING_LENGTH,
    MAX_REASON_LENGTH,
    check_can_edit,
    choice_clean,
    text_clean,
)

MAX_ARTICLE_TITLE = 200


def _article_clean(user: Any, article: Any) -> Article:
    if not isinstance(article, Article) or not can_view_article(user, article):
        raise InvalidInput("That article was not found.", field="article")
    return article


def _title_from(text: str) -> str:
    """The finding's first line as an article title, cut at a word under 200 characters."""
    first_line = next((line for line in text.splitlines() if line.strip()), text)
    title = " ".join(first_line.lstrip("#>*-+ ").split())
    if len(title) <= MAX_ARTICLE_TITLE:
        return title
    cut = title[: MAX_ARTICLE_TITLE - 1].rsplit(" ", 1)[0]
    return cut + "…"


def _joined(*parts: str) -> str:
    return "\n\n".join(part.strip() for part in parts if part and part.strip())


def _spawn(*, postmortem: Postmortem, user: Any, text: str, kind: str) -> Article:
    """A draft article prefilled from the finding and the postmortem's sections."""
    sections = postmortem.sections
    incident = postmortem.incident
    content = ArticleContent(
        title=_title_from(text),
        knowledge_type=(
            KnowledgeType.PROCESS if kind == Finding.Kind.PROCESS_GAP else KnowledgeType.TECHNICAL
        ),
        symptoms=_joined(sections.get("impact", ""), sections.get("detection", "")),
        cause=_joined(sections.get("root_causes", ""), text if kind != "what_worked" else ""),
        resolution=_joined(sections.get("response", ""), sections.get("resolution", "")),
        team=incident.team,
        services=list(incident.services.all()),
        tag_names=[tag.name for tag in incident.tags.all()],
    )
    return article_create(
        author=user,
        content=content,
        change_note=f"Spawned from a finding of incident #{incident.pk}'s postmortem.",
    )


def _outcome_choice(
    *, article: Any, spawn_article: bool, no_article_reason: str | None
) -> str | None:
    chosen = [
        name
        for name, given in (
            ("article", article is not None),
            ("spawn_article", spawn_article),
            ("no_article_reason", bool((no_article_reason or "").strip())),
        )
        if given
    ]
    if len(chosen) > 1:
        raise InvalidInput(
            "Choose one outcome: link an article, spawn a new one, or say why there is nothing "
            "to capture.",
            field=chosen[1],
        )
    return chosen[0] if chosen else None


def _outcome_values(
    *,
    choice: str | None,
    postmortem: Postmortem,
    user: Any,
    text: str,
    kind: str,
    article: Any,
    no_article_reason: str | None,
) -> dict[str, Any]:
    if choice == "article":
        return {
            "outcome": Finding.Outcome.LINKED,
            "article": _article_clean(user, article),
            "no_article_reason": "",
        }
    if choice == "no_article_reason":
        reason = text_clean(
            no_article_reason,
            field="no_article_reason",
            limit=MAX_REASON_LENGTH,
            label="reason there is nothing to capture",
        )
        return {
            "outcome": Finding.Outcome.NOTHING_TO_CAPTURE,
            "article": None,
            "no_article_reason": reason,
        }
    if choice == "spawn_article":
        spawned = _spawn(postmortem=postmortem, user=user, text=text, kind=kind)
        return {"outcome": Finding.Outcome.SPAWNED, "article": spawned, "no_article_reason": ""}
    return {}


def _check_writable(postmortem: Postmortem, outcome: str) -> None:
    if postmortem.state == PostmortemState.PUBLISHED and not outcome:
        raise StateConflict(
            "This postmortem is published.",
            reasons=[
                "A finding added to a published postmortem needs its outcome: link an article, "
                "spawn one, or say why there is nothing to capture."
            ],
        )


def finding_add(
    *,
    postmortem: Postmortem,
    user: Any,
    text: str,
    kind: str,
    article: Article | None = None,
    spawn_article: bool = False,
    no_article_reason: str = "",
) -> Finding:
    """Record a lesson with, optionally, its outcome: a visible `article` to link, a new draft
    article spawned from it, or the reason there is nothing to capture (at most one)."""
    check_can_edit(user, postmortem.incident, doing="record findings")
    text = text_clean(
        text,
        field="text",
        limit=MAX_FINDING_LENGTH,
        label="finding",
        required=True,
        missing="Describe the finding.",
    )
    kind = choice_clean(kind, field="kind", choices=Finding.Kind.values, label="kind of finding")
    choice = _outcome_choice(
        article=article, spawn_article=spawn_article, no_article_reason=no_article_reason
    )
    if choice == "article":
        _article_clean(user, article)
    with transaction.atomic():
        locked = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
        locked.incident = postmortem.incident
        values = _outcome_values(
            choice=choice,
            postmortem=locked,
            user=user,
            text=text,
            kind=kind,
            article=article,
            no_article_reason=no_article_reason,
        )
        _check_writable(locked, values.get("outcome", ""))
        last = Finding.objects.filter(postmortem=locked).aggregate(last=Max("position"))["last"]
        created = Finding.objects.create(
            postmortem=locked,
            text=text,
            kind=kind,
            position=(last or 0) + 1,
            created_by=user,
            **values,
        )
        _announce(locked)
        return created


def _announce(postmortem: Postmortem) -> None:
    """Which articles an incident's findings link is part of its record: the KPI jobs listen."""
    emit(
        "postmortem.findings_changed",
        postmortem_id=postmortem.pk,
        incident_id=postmortem.incident_id,
    )


def finding_update(
    *,
    finding: Finding,
    user: Any,
    text: str | None = None,
    kind: str | None = None,
    article: Article | None = None,
    spawn_article: bool = False,
    no_article_reason: str | None = None,
) -> Finding:
    """Change a finding's text, kind or outcome (None leaves a field as it is)."""
    postmortem = finding.postmortem
    check_can_edit(user, postmortem.incident, doing="change findings")
    values: dict[str, Any] = {}
    if text is not None:
        values["text"] = text_clean(
            text,
            field="text",
            limit=MAX_FINDING_LENGTH,
            label="finding",
            required=True,
            missing="Describe the finding.",
        )
    if kind is not None:
        values["kind"] = choice_clean(
            kind, field="kind", choices=Finding.Kind.values, label="kind of finding"
        )
    choice = _outcome_choice(
        article=article, spawn_article=spawn_article, no_article_reason=no_article_reason
    )
    if choice == "article":
        _article_clean(user, article)
    with transaction.atomic():
        current = Finding.objects.select_for_update().get(pk=finding.pk)
        values.update(
            _outcome_values(
                choice=choice,
                postmortem=postmortem,
                user=user,
                text=values.get("text", current.text),
                kind=values.get("kind", current.kind),
                article=article,
                no_article_reason=no_article_reason,
            )
        )
        if not values:
            return current
        Finding.objects.filter(pk=current.pk).update(**values)
        _announce(postmortem)
    return Finding.objects.select_related("article").get(pk=finding.pk)


def finding_delete(*, finding: Finding, user: Any) -> None:
    """Remove a finding; an article it spawned stays, as a draft its author can keep or archive."""
    postmortem = finding.postmortem
    check_can_edit(user, postmortem.incident, doing="remove findings")
    if postmortem.state == PostmortemState.PUBLISHED:
        raise StateConflict(
            "This postmortem is published.",
            reasons=["The findings of a published postmortem are kept as they were published."],
        )
    Finding.objects.filter(pk=finding.pk).delete()
    _announce(postmortem)


def findings_reorder(*, postmortem: Postmortem, user: Any, finding_ids: list[int]) -> None:
    """Put the findings in the order given; the ids must be exactly this postmortem's."""
    check_can_edit(user, postmortem.incident, doing="reorder findings")
    with transaction.atomic():
        existing = set(
            Finding.objects.select_for_update()
            .filter(postmortem=postmortem)
            .values_list("pk", flat=True)
        )
        if len(finding_ids) != len(set(finding_ids)) or set(finding_ids) != existing:
            raise InvalidInput(
                "List every finding of this postmortem exactly once.", field="finding_ids"
            )
        for position, finding_id in enumerate(finding_ids, start=1):
            Finding.objects.filter(pk=finding_id).update(position=position)
