"""The postmortem's life: start, write (with merges of concurrent saves), review, publish."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from kbsite.errors import InvalidInput, NotAllowed, StaleVersion, StateConflict
from kbsite.events import emit
from kbsite.roles import Role, user_has_role
from kbsite.services import notification_send
from knowledge.markdown import render_markdown
from knowledge.models import Article, ArticleState
from knowledge.permissions import can_edit as can_edit_article
from knowledge.permissions import can_review as can_review_articles
from knowledge.services import article_publish, article_submit
from postmortems.blameless import lint_sections
from postmortems.models import (
    Finding,
    Incident,
    Postmortem,
    PostmortemDraft,
    PostmortemRevision,
    PostmortemState,
    PostmortemTemplate,
    Review,
    SectionComment,
    TemplateSection,
)
from postmortems.permissions import can_edit_postmortem, can_review_postmortem
from postmortems.services.common import (
    MAX_CHANGE_NOTE_LENGTH,
    MAX_COMMENT_LENGTH,
    MAX_REVIEW_COMMENT_LENGTH,
    MAX_SECTION_LENGTH,
    check_can_edit,
    check_can_view,
    display_name,
    lock_postmortem,
    text_clean,
)
from postmortems.services.templates import template_default_for

logger = logging.getLogger(__name__)

# States in which the authors may still change sections, findings and action items.
WRITABLE_STATES = (
    PostmortemState.DRAFT,
    PostmortemState.IN_REVIEW,
    PostmortemState.CHANGES_REQUESTED,
    PostmortemState.APPROVED,
    PostmortemState.PUBLISHED,
)
SUBMITTABLE_STATES = (PostmortemState.DRAFT, PostmortemState.CHANGES_REQUESTED)


def required_approvals() -> int:
    return max(1, int(getattr(settings, "POSTMORTEM_REQUIRED_APPROVALS", 1)))


def fresh_postmortem(postmortem: Postmortem) -> Postmortem:
    return Postmortem.objects.select_related("incident", "incident__team", "template").get(
        pk=postmortem.pk
    )


def template_sections(template: PostmortemTemplate | int) -> list[TemplateSection]:
    template_id = template if isinstance(template, int) else template.pk
    return list(TemplateSection.objects.filter(template_id=template_id).order_by("position", "id"))


def approvals_in_round(*, postmortem: Postmortem) -> int:
    """Distinct reviewers who approved since the last submission and the last content change:
    an approval is of the text as it was, so an edit asks for a fresh one."""
    last_content = PostmortemRevision.objects.filter(postmortem=postmortem).aggregate(
        number=Max("number")
    )["number"]
    approvals = Review.objects.filter(
        postmortem=postmortem,
        decision=Review.Decision.APPROVED,
        postmortem_version__gte=last_content or 0,
    )
    if postmortem.submitted_at is not None:
        approvals = approvals.filter(created_at__gte=postmortem.submitted_at)
    return approvals.values("reviewer_id").distinct().count()


def _stale(postmortem: Postmortem, message: str) -> StaleVersion:
    return StaleVersion(message, current=fresh_postmortem(postmortem))


def _check_version(current: Postmortem, expected_version: int | None) -> None:
    if expected_version is not None and current.version != expected_version:
        raise _stale(
            current,
            f"Someone saved version {current.version} of this postmortem after your version "
            f"{expected_version}; review their changes and try again.",
        )


def _sections_clean(
    *, sections: dict[str, str], template_id: int
) -> tuple[dict[str, str], dict[str, TemplateSection]]:
    by_key = {section.key: section for section in template_sections(template_id)}
    if not isinstance(sections, dict):
        raise InvalidInput("Give the sections as section key → markdown.", field="sections")
    unknown = sorted(set(sections) - set(by_key))
    if unknown:
        raise InvalidInput(
            f"Unknown section: {', '.join(unknown)}. This template's sections are "
            f"{', '.join(by_key)}.",
            field="sections",
        )
    cleaned: dict[str, str] = {}
    for key, text in sections.items():
        if text is not None and not isinstance(text, str):
            raise InvalidInput(f"The section “{by_key[key].heading}” must be text.", field=key)
        cleaned[key] = text_clean(
            text,
            field=key,
            limit=MAX_SECTION_LENGTH,
            label=f"section “{by_key[key].heading}”",
            keep_indent=True,
        )
    return cleaned, by_key


def _transition(
    *,
    postmortem: Postmortem,
    expected_version: int | None,
    allowed: tuple[str, ...],
    action: str,
    **changes: Any,
) -> Postmortem:
    """Lock, check version and state, apply `changes` and bump the version."""
    current = lock_postmortem(postmortem)
    _check_version(current, expected_version)
    if current.state not in allowed:
        labels = " or ".join(str(PostmortemState(state).label).lower() for state in allowed)
        raise StateConflict(
            f"This postmortem cannot be {action}.",
            reasons=[
                f"Only a postmortem that is {labels} can be {action}; this one is "
                f"{str(PostmortemState(current.state).label).lower()}."
            ],
        )
    Postmortem.objects.filter(pk=current.pk).update(
        version=F("version") + 1, updated_at=timezone.now(), **changes
    )
    return fresh_postmortem(current)


def postmortem_start(
    *, incident: Incident, user: Any, template: PostmortemTemplate | None = None
) -> Postmortem:
    """Start the incident's postmortem from `template` (default: the severity's template,
    else "blameless"), every section empty, revision 1 recorded. StateConflict if it has one."""
    check_can_edit(user, incident, doing="start its postmortem")
    if template is None:
        template = template_default_for(severity=incident.severity)
    elif not isinstance(template, PostmortemTemplate) or not template.is_current:
        raise InvalidInput(
            "Choose a current postmortem template; that one was replaced by a newer version.",
            field="template",
        )
    existing = Postmortem.objects.filter(incident=incident).values_list("pk", flat=True).first()
    if existing is not None:
        raise StateConflict(
            "This incident already has a postmortem.",
            reasons=[f"Postmortem #{existing} is this incident's postmortem; open it instead."],
        )
    keys = [section.key for section in template_sections(template)]
    sections = dict.fromkeys(keys, "")
    try:
        with transaction.atomic():
            postmortem = Postmortem.objects.create(
                incident=incident,
                template=template,
                sections=sections,
                sections_html=dict(sections),
                created_by=user,
            )
            PostmortemRevision.objects.create(
                postmortem=postmortem,
                number=postmortem.version,
                editor=user,
                state=postmortem.state,
                sections=sections,
                change_note="Started",
            )
            emit("postmortem.started", postmortem_id=postmortem.pk, incident_id=incident.pk)
    except IntegrityError as error:  # two people started it at the same moment
        raise StateConflict(
            "This incident already has a postmortem.",
            reasons=["Someone started it a moment ago; open it instead."],
        ) from error
    return fresh_postmortem(postmortem)


def postmortem_save_sections(
    *,
    postmortem: Postmortem,
    user: Any,
    sections: dict[str, str],
    expected_version: int,
    change_note: str = "",
) -> Postmortem:
    """Save the sections `sections` names (key → markdown), as the user saw them at
    `expected_version`.

    When others saved since, their changes are kept and this save merges in: it is refused with
    StaleVersion (carrying the current postmortem) only if one of the sections this user changed
    was also changed by someone else. Records a revision, renders the sanitized HTML, clears the
    user's autosaved draft. Saving an approved postmortem sends it back to review (approval is of
    the text as it was); a published one stays published with the new revision in its history.
    """
    check_can_edit(user, postmortem.incident, doing="edit this postmortem")
    cleaned, by_key = _sections_clean(sections=sections, template_id=postmortem.template_id)
    note = text_clean(
        change_note, field="change_note", limit=MAX_CHANGE_NOTE_LENGTH, label="change note"
    )
    now = timezone.now()
    with transaction.atomic():
        current = lock_postmortem(postmortem)
        if expected_version != current.version:
            base = (
                PostmortemRevision.objects.filter(postmortem=current, number__lte=expected_version)
                .order_by("-number")
                .first()
            )
            if base is None or expected_version > current.version:
                raise _stale(
                    current,
                    f"Version {expected_version} of this postmortem is unknown; reload it.",
                )
            mine = {key for key, text in cleaned.items() if text != base.sections.get(key, "")}
            clashes = [
                key
                for key in by_key
                if key in mine
                and current.sections.get(key, "") != base.sections.get(key, "")
                and current.sections.get(key, "") != cleaned[key]
            ]
            if clashes:
                headings = ", ".join(f"“{by_key[key].heading}”" for key in clashes)
                raise _stale(
                    current,
                    f"Someone else changed {headings} after your version {expected_version}; "
                    "review their text and apply your changes again.",
                )
            cleaned = {key: cleaned[key] for key in mine}
        new_sections = {**current.sections, **cleaned}
        PostmortemDraft.objects.filter(postmortem=current, user=user).delete()
        if new_sections == current.sections:
            return fresh_postmortem(current)
        html = dict(current.sections_html)
        html.update({key: render_markdown(text) for key, text in cleaned.items()})
        changes: dict[str, Any] = {}
        if current.state == PostmortemState.APPROVED:
            changes = {"state": PostmortemState.IN_REVIEW, "submitted_at": now, "approved_at": None}
        new_version = current.version + 1
        Postmortem.objects.filter(pk=current.pk, version=current.version).update(
            sections=new_sections,
            sections_html=html,
            version=new_version,
            updated_at=now,
            **changes,
        )
        PostmortemRevision.objects.create(
            postmortem=current,
            number=new_version,
            editor=user,
            state=changes.get("state", current.state),
            sections=new_sections,
            change_note=note,
            created_at=now,
        )
        emit("postmortem.updated", postmortem_id=current.pk, incident_id=current.incident_id)
    return fresh_postmortem(current)


def postmortem_autosave(
    *, postmortem: Postmortem, user: Any, sections: dict[str, str], based_on_version: int
) -> PostmortemDraft:
    """Keep what the user typed but has not saved, so that nothing is lost (one per user)."""
    check_can_edit(user, postmortem.incident, doing="edit this postmortem")
    cleaned, _ = _sections_clean(sections=sections, template_id=postmortem.template_id)
    if not isinstance(based_on_version, int) or not 1 <= based_on_version <= postmortem.version:
        raise InvalidInput(
            "The draft must be based on a version of this postmortem.", field="based_on_version"
        )
    draft, _ = PostmortemDraft.objects.update_or_create(
        postmortem=postmortem,
        user=user,
        defaults={
            "sections": cleaned,
            "based_on_version": based_on_version,
            "updated_at": timezone.now(),
        },
    )
    return draft


def _spawned_articles(postmortem: Postmortem, *states: str) -> list[Article]:
    return list(
        Article.objects.filter(
            findings__postmortem=postmortem,
            findings__outcome=Finding.Outcome.SPAWNED,
            state__in=states,
        )
        .select_related("author")
        .distinct()
        .order_by("pk")
    )


def _submit_article(article: Article, user: Any) -> Article:
    """Send a spawned draft to review: as the user when they may, else as its author (it was
    written for this postmortem, whose submission is the author's decision)."""
    actor = user if can_edit_article(user, article) else article.author
    return article_submit(article=article, user=actor)


def postmortem_submit(
    *, postmortem: Postmortem, user: Any, expected_version: int | None = None
) -> Postmortem:
    """Draft or changes requested → in review, by an author. The draft articles its findings
    spawned go to review with it."""
    check_can_edit(user, postmortem.incident, doing="submit this postmortem")
    with transaction.atomic():
        submitted = _transition(
            postmortem=postmortem,
            expected_version=expected_version,
            allowed=SUBMITTABLE_STATES,
            action="submitted for review",
            state=PostmortemState.IN_REVIEW,
            submitted_at=timezone.now(),
            approved_at=None,
        )
        for article in _spawned_articles(submitted, ArticleState.DRAFT):
            _submit_article(article, user)
        emit(
            "postmortem.submitted",
            postmortem_id=submitted.pk,
            incident_id=submitted.incident_id,
        )
    return submitted


def _check_reviewer(user: Any, postmortem: Postmortem, *, doing: str) -> None:
    check_can_view(user, postmortem.incident)
    if not user_has_role(user, Role.REVIEWER):
        raise NotAllowed(f"Only reviewers can {doing}.")
    if not can_review_postmortem(user, postmortem.incident):
        raise NotAllowed(
            f"You are one of this postmortem's authors; a reviewer who did not write it must "
            f"{doing}."
        )


def postmortem_request_changes(
    *, postmortem: Postmortem, user: Any, comment: str, expected_version: int | None = None
) -> Postmortem:
    """In review (or approved) → changes requested, with a comment saying what to change; the
    postmortem's creator is notified."""
    _check_reviewer(user, postmortem, doing="ask for changes")
    text = text_clean(
        comment,
        field="comment",
        limit=MAX_REVIEW_COMMENT_LENGTH,
        label="comment",
        missing="Say what to change.",
        required=True,
    )
    with transaction.atomic():
        version = lock_postmortem(postmortem).version
        changed = _transition(
            postmortem=postmortem,
            expected_version=expected_version,
            allowed=(PostmortemState.IN_REVIEW, PostmortemState.APPROVED),
            action="sent back for changes",
            state=PostmortemState.CHANGES_REQUESTED,
            approved_at=None,
        )
        Review.objects.create(
            postmortem=changed,
            reviewer=user,
            decision=Review.Decision.CHANGES_REQUESTED,
            comment=text,
            postmortem_version=version,
        )
        if changed.created_by_id != user.pk:
            notification_send(
                user=changed.created_by,
                text=f"{display_name(user)} asked for changes to the postmortem of "
                f"“{changed.incident.title}”: {text}",
                url=changed.get_absolute_url(),
                email_subject=f"Changes requested: {changed.incident.title}",
            )
        emit("postmortem.changes_requested", postmortem_id=changed.pk)
    return changed


def postmortem_approve(
    *, postmortem: Postmortem, user: Any, comment: str = "", expected_version: int | None = None
) -> Postmortem:
    """Record an approval by a reviewer who is not an author (an author: NotAllowed). Once
    POSTMORTEM_REQUIRED_APPROVALS distinct reviewers approved it, it is approved. Approval does
    not publish."""
    _check_reviewer(user, postmortem, doing="approve it")
    text = text_clean(comment, field="comment", limit=MAX_REVIEW_COMMENT_LENGTH, label="comment")
    with transaction.atomic():
        current = lock_postmortem(postmortem)
        _check_version(current, expected_version)
        if current.state != PostmortemState.IN_REVIEW:
            label = str(PostmortemState(current.state).label).lower()
            raise StateConflict(
                "This postmortem cannot be approved.",
                reasons=[f"Only a postmortem in review can be approved; this one is {label}."],
            )
        already = Review.objects.filter(
            postmortem=current,
            reviewer=user,
            decision=Review.Decision.APPROVED,
            postmortem_version__gte=PostmortemRevision.objects.filter(postmortem=current).aggregate(
                number=Max("number")
            )["number"]
            or 0,
            created_at__gte=current.submitted_at or current.created_at,
        ).exists()
        if already:
            raise StateConflict(
                "You already approved this version.",
                reasons=["Another reviewer's approval is needed, not a second one of yours."],
            )
        Review.objects.create(
            postmortem=current,
            reviewer=user,
            decision=Review.Decision.APPROVED,
            comment=text,
            postmortem_version=current.version,
        )
        changes: dict[str, Any] = {}
        if approvals_in_round(postmortem=current) >= required_approvals():
            changes = {"state": PostmortemState.APPROVED, "approved_at": timezone.now()}
        Postmortem.objects.filter(pk=current.pk).update(
            version=F("version") + 1, updated_at=timezone.now(), **changes
        )
        if changes:
            emit("postmortem.approved", postmortem_id=current.pk)
    return fresh_postmortem(current)


def _excerpt(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def postmortem_publish_blockers(*, postmortem: Postmortem, acknowledge_warnings: bool) -> list[str]:
    """Every reason the postmortem cannot be published now, in the order to fix them; empty
    when it can be."""
    return publish_blockers_from(
        postmortem=postmortem,
        sections=template_sections(postmortem.template_id),
        findings=list(Finding.objects.filter(postmortem=postmortem).order_by("position", "id")),
        approvals=approvals_in_round(postmortem=postmortem),
        acknowledge_warnings=acknowledge_warnings,
    )


def publish_blockers_from(
    *,
    postmortem: Postmortem,
    sections: list[TemplateSection],
    findings: list[Finding],
    approvals: int,
    acknowledge_warnings: bool,
) -> list[str]:
    """postmortem_publish_blockers over rows the caller already loaded (the page does)."""
    reasons: list[str] = []
    needed = required_approvals()
    state = postmortem.state
    if state == PostmortemState.PUBLISHED:
        reasons.append("It is already published.")
    elif state == PostmortemState.DRAFT:
        reasons.append("It is a draft: submit it for review first.")
    elif state == PostmortemState.CHANGES_REQUESTED:
        reasons.append("A reviewer asked for changes: make them and submit it again.")
    elif state == PostmortemState.IN_REVIEW or approvals < needed:
        reasons.append(f"It has {approvals} of the {needed} approvals it needs.")

    for section in sections:
        if section.required and not (postmortem.sections.get(section.key) or "").strip():
            reasons.append(f"The required section “{section.heading}” is empty.")

    for number, finding in enumerate(findings, start=1):
        if not finding.outcome:
            reasons.append(
                f"Finding {number} (“{_excerpt(finding.text)}”) has no knowledge outcome: link "
                "an article, spawn one, or say why there is nothing to capture."
            )

    if not acknowledge_warnings:
        warnings = lint_sections(postmortem.sections)
        if warnings:
            count = sum(len(found) for found in warnings.values())
            headings = ", ".join(
                f"“{section.heading}”" for section in sections if section.key in warnings
            )
            plural = "s" if count != 1 else ""
            reasons.append(
                f"{count} blameless-language warning{plural} in {headings}: reword, or "
                "acknowledge the warnings to publish."
            )
    return reasons


def _article_publisher(user: Any, postmortem: Postmortem) -> Any:
    """Who publishes the spawned articles: the user if they review knowledge, else the reviewer
    whose approval was the articles' review."""
    if can_review_articles(user):
        return user
    approvals = (
        Review.objects.filter(postmortem=postmortem, decision=Review.Decision.APPROVED)
        .select_related("reviewer")
        .order_by("-created_at", "-id")
    )
    for review in approvals:
        if review.reviewer.is_active and can_review_articles(review.reviewer):
            return review.reviewer
    return None


def postmortem_publish(
    *,
    postmortem: Postmortem,
    user: Any,
    acknowledge_warnings: bool = False,
    expected_version: int | None = None,
) -> Postmortem:
    """Approved → published, by an author or a reviewer. Refused with StateConflict listing
    every reason (postmortem_publish_blockers) until it may be.

    Publishes the articles its findings spawned (the postmortem's approval is their review),
    except for a restricted incident: its articles wait in the review queue, because their text
    may carry what the incident restricts. Emits "postmortem.published".
    """
    check_can_view(user, postmortem.incident)
    if not (can_edit_postmortem(user, postmortem.incident) or user_has_role(user, Role.REVIEWER)):
        raise NotAllowed("Only its authors and reviewers can publish a postmortem.")
    with transaction.atomic():
        current = lock_postmortem(postmortem)
        _check_version(current, expected_version)
        reasons = postmortem_publish_blockers(
            postmortem=current, acknowledge_warnings=acknowledge_warnings
        )
        if reasons:
            raise StateConflict("This postmortem cannot be published yet.", reasons=reasons)
        now = timezone.now()
        Postmortem.objects.filter(pk=current.pk).update(
            state=PostmortemState.PUBLISHED,
            published_at=now,
            version=F("version") + 1,
            updated_at=now,
        )
        for article in _spawned_articles(current, ArticleState.DRAFT):
            _submit_article(article, user)
        if not current.incident.is_restricted:
            publisher = _article_publisher(user, current)
            for article in _spawned_articles(current, ArticleState.IN_REVIEW):
                if publisher is None:
                    logger.warning("no reviewer to publish article %s", article.pk)
                    continue
                article_publish(
                    article=article,
                    user=publisher,
                    comment=f"Reviewed with the postmortem of incident #{current.incident_id}.",
                )
        emit(
            "postmortem.published",
            postmortem_id=current.pk,
            incident_id=current.incident_id,
        )
    return fresh_postmortem(current)


def section_comment_add(
    *, postmortem: Postmortem, user: Any, section_key: str, text: str
) -> SectionComment:
    """A comment on one section, by an author or a reviewer."""
    check_can_view(user, postmortem.incident)
    if not (can_edit_postmortem(user, postmortem.incident) or user_has_role(user, Role.REVIEWER)):
        raise NotAllowed("Only its authors and reviewers can comment on a postmortem.")
    keys = {section.key for section in template_sections(postmortem.template_id)}
    if section_key not in keys:
        raise InvalidInput("Choose a section of this postmortem.", field="section_key")
    body = text_clean(text, field="text", limit=MAX_COMMENT_LENGTH, label="comment", required=True)
    return SectionComment.objects.create(
        postmortem=postmortem, section_key=section_key, author=user, text=body
    )
