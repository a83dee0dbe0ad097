"""Reads of incidents and postmortems: every access-checked fetch and listing goes through here.

Each selector decides what it loads, so that a page costs the same number of queries for two
findings as for two hundred. Restricted incidents do not exist for people who may not see them:
the getters raise Http404 and the listings leave them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from kbsite.roles import Role, user_has_role
from knowledge.models import Article
from knowledge.permissions import articles_visible_q
from knowledge.search import SearchFilters, SearchHit, article_search
from postmortems.blameless import LintWarning, lint_sections
from postmortems.models import (
    ActionItem,
    ArticleUse,
    Finding,
    Incident,
    Postmortem,
    PostmortemDraft,
    PostmortemState,
    Review,
    SectionComment,
    TemplateSection,
    TimelineEntry,
)
from postmortems.permissions import (
    can_view_incident,
    incidents_visible_q,
    is_named_on,
)
from postmortems.services.postmortems import (
    approvals_in_round,
    publish_blockers_from,
    required_approvals,
)

OPEN_ACTION_STATUSES = (ActionItem.Status.OPEN, ActionItem.Status.IN_PROGRESS)


@dataclass(frozen=True)
class IncidentFilters:
    severity: str | None = None
    status: str | None = None
    team: str | None = None  # slug
    service: str | None = None  # slug
    started_from: date | datetime | None = None
    started_to: date | datetime | None = None  # inclusive: a date means the whole day
    postmortem_state: str | None = None  # a PostmortemState, or "none" for no postmortem yet
    q: str = ""


def _incidents_visible(user: Any) -> QuerySet[Incident]:
    return Incident.objects.filter(incidents_visible_q(user))


def _hide_invisible_repeat(incident: Incident, user: Any) -> Incident:
    """`repeat_of` pointing at an incident the user may not see reads as unset (the row is
    untouched: services write with UPDATE, never by saving this object)."""
    earlier = incident.repeat_of
    if earlier is not None and not can_view_incident(user, earlier):
        incident.repeat_of = None
    return incident


def incident_get_for_user(*, pk: int, user: Any) -> Incident:
    """The incident with its team, people, services, tags, category and postmortem loaded;
    Http404 when it does not exist or the user may not see it."""
    incident = (
        _incidents_visible(user)
        .select_related(
            "team",
            "commander",
            "created_by",
            "root_cause_category",
            "repeat_of",
            "postmortem",
            "postmortem__template",
        )
        .prefetch_related("services", "tags", "responders", "repeat_of__responders")
        .filter(pk=pk)
        .first()
    )
    if incident is None:
        raise Http404("No such incident.")
    return _hide_invisible_repeat(incident, user)


def _as_datetime(value: date | datetime, *, end_of_day: bool) -> datetime:
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    moment = datetime.combine(value, time.max if end_of_day else time.min)
    return timezone.make_aware(moment)


def incident_list_for_user(
    *, user: Any, filters: IncidentFilters | None = None
) -> QuerySet[Incident]:
    """Visible incidents matching `filters`, newest first, ready for a list page."""
    filters = filters or IncidentFilters()
    incidents = _incidents_visible(user)
    if filters.severity:
        incidents = incidents.filter(severity=filters.severity.lower())
    if filters.status:
        incidents = incidents.filter(status=filters.status.lower())
    if filters.team:
        incidents = incidents.filter(team__slug=filters.team)
    if filters.service:
        # A subquery, not a join: no duplicate rows, so no DISTINCT, which would sort every
        # visible incident before the page's LIMIT (seconds at 100k incidents).
        with_service = Incident.services.through.objects.filter(service__slug=filters.service)
        incidents = incidents.filter(pk__in=with_service.values("incident_id"))
    if filters.started_from:
        incidents = incidents.filter(
            started_at__gte=_as_datetime(filters.started_from, end_of_day=False)
        )
    if filters.started_to:
        incidents = incidents.filter(
            started_at__lte=_as_datetime(filters.started_to, end_of_day=True)
        )
    if filters.postmortem_state == "none":
        incidents = incidents.filter(postmortem__isnull=True)
    elif filters.postmortem_state:
        incidents = incidents.filter(postmortem__state=filters.postmortem_state)
    query = " ".join(filters.q.split())[:200]
    if query:
        incidents = incidents.filter(
            Q(title__icontains=query) | Q(summary__icontains=query) | Q(external_id=query)
        )
    return (
        incidents.select_related("team", "commander", "root_cause_category", "postmortem")
        .prefetch_related("services", "tags")
        .order_by("-started_at", "-id")
    )


def postmortem_get_for_user(*, pk: int, user: Any) -> Postmortem:
    """The postmortem with its incident loaded; Http404 when absent or the incident is not
    visible to the user."""
    postmortem = (
        Postmortem.objects.filter(incidents_visible_q(user, prefix="incident__"))
        .select_related(
            "incident",
            "incident__team",
            "incident__commander",
            "incident__root_cause_category",
            "template",
            "created_by",
        )
        .prefetch_related("incident__services", "incident__tags", "incident__responders")
        .filter(pk=pk)
        .first()
    )
    if postmortem is None:
        raise Http404("No such postmortem.")
    return postmortem


@dataclass
class SectionView:
    key: str
    heading: str
    prompt: str
    required: bool
    text: str
    html: str
    warnings: list[LintWarning] = field(default_factory=list)
    comments: list[SectionComment] = field(default_factory=list)


@dataclass
class PostmortemPageData:
    postmortem: Postmortem
    incident: Incident
    sections: list[SectionView]
    template_sections: list[TemplateSection]
    findings: list[Finding]  # each with `visible_article` (None when the user may not see it)
    timeline: list[TimelineEntry]
    action_items: list[ActionItem]
    article_uses: list[ArticleUse]  # each with `visible_article`
    comments: list[SectionComment]
    reviews: list[Review]
    warnings: dict[str, list[LintWarning]]
    draft: PostmortemDraft | None
    approvals: int
    required_approvals: int
    publish_blockers: list[str]  # with blameless warnings counted (not acknowledged)
    can_edit: bool
    can_review: bool

    @property
    def warning_count(self) -> int:
        return sum(len(found) for found in self.warnings.values())


def _mark_visible_articles(rows: list[Any], visible_ids: set[int]) -> None:
    for row in rows:
        row.visible_article = row.article if row.article_id in visible_ids else None


def postmortem_page_data(*, postmortem: Postmortem, user: Any) -> PostmortemPageData:
    """Everything the postmortem page shows, in a fixed number of queries."""
    incident = postmortem.incident
    if not can_view_incident(user, incident):
        raise Http404("No such postmortem.")
    template_sections = list(
        TemplateSection.objects.filter(template_id=postmortem.template_id).order_by(
            "position", "id"
        )
    )
    findings = list(
        Finding.objects.filter(postmortem=postmortem)
        .select_related("article", "created_by")
        .order_by("position", "id")
    )
    timeline = list(
        TimelineEntry.objects.filter(incident=incident)
        .select_related("author")
        .order_by("occurred_at", "position", "id")
    )
    action_items = list(
        ActionItem.objects.filter(postmortem=postmortem)
        .select_related("owner", "team")
        .order_by("due_date", "id")
    )
    article_uses = list(
        ArticleUse.objects.filter(incident=incident)
        .select_related("article", "user")
        .order_by("used_at", "id")
    )
    article_ids = {finding.article_id for finding in findings if finding.article_id}
    article_ids |= {use.article_id for use in article_uses}
    visible_ids = set(
        Article.objects.filter(articles_visible_q(user), pk__in=article_ids).values_list(
            "pk", flat=True
        )
        if article_ids
        else []
    )
    _mark_visible_articles(findings, visible_ids)
    _mark_visible_articles(article_uses, visible_ids)
    comments = list(
        SectionComment.objects.filter(postmortem=postmortem)
        .select_related("author")
        .order_by("created_at", "id")
    )
    reviews = list(
        Review.objects.filter(postmortem=postmortem)
        .select_related("reviewer")
        .order_by("-created_at", "-id")
    )
    draft = PostmortemDraft.objects.filter(postmortem=postmortem, user_id=user.pk).first()
    warnings = lint_sections(postmortem.sections)
    by_section: dict[str, list[SectionComment]] = {}
    for comment in comments:
        by_section.setdefault(comment.section_key, []).append(comment)
    sections = [
        SectionView(
            key=section.key,
            heading=section.heading,
            prompt=section.prompt,
            required=section.required,
            text=postmortem.sections.get(section.key, ""),
            html=postmortem.sections_html.get(section.key, ""),
            warnings=warnings.get(section.key, []),
            comments=by_section.get(section.key, []),
        )
        for section in template_sections
    ]
    responder_ids = {person.pk for person in incident.responders.all()}
    named = is_named_on(user, incident, responder_ids=responder_ids)
    approvals = approvals_in_round(postmortem=postmortem)
    blockers = (
        []
        if postmortem.state == PostmortemState.PUBLISHED
        else publish_blockers_from(
            postmortem=postmortem,
            sections=template_sections,
            findings=findings,
            approvals=approvals,
            acknowledge_warnings=False,
        )
    )
    return PostmortemPageData(
        postmortem=postmortem,
        incident=incident,
        sections=sections,
        template_sections=template_sections,
        findings=findings,
        timeline=timeline,
        action_items=action_items,
        article_uses=article_uses,
        comments=comments,
        reviews=reviews,
        warnings=warnings,
        draft=draft,
        approvals=approvals,
        required_approvals=required_approvals(),
        publish_blockers=blockers,
        can_edit=user_has_role(user, Role.ADMIN) or named,
        can_review=user_has_role(user, Role.REVIEWER) and not named,
    )


def action_items_for_user(
    *,
    user: Any,
    team: Any = None,
    owner: Any = None,
    overdue_only: bool = False,
    include_closed: bool = False,
    today: date | None = None,
) -> QuerySet[ActionItem]:
    """Action items of visible incidents, soonest due first; open and in progress unless
    `include_closed`. `team` is a Team or its slug; `owner` a user."""
    items = ActionItem.objects.filter(incidents_visible_q(user, prefix="postmortem__incident__"))
    if not include_closed or overdue_only:
        items = items.filter(status__in=OPEN_ACTION_STATUSES)
    if team is not None:
        items = items.filter(team__slug=team) if isinstance(team, str) else items.filter(team=team)
    if owner is not None:
        items = items.filter(owner=owner)
    if overdue_only:
        items = items.filter(due_date__lt=today or timezone.localdate())
    return items.select_related(
        "owner", "team", "postmortem", "postmortem__incident", "postmortem__incident__team"
    ).order_by("due_date", "id")


def _incident_query_text(incident: Incident) -> str:
    """What a responder would type: the title, then the start of the summary."""
    return " ".join(f"{incident.title} {incident.summary[:200]}".split())


def incident_suggested_articles(
    *, incident: Incident, user: Any, limit: int = 5
) -> list[SearchHit]:
    """Articles that may help with this incident, found from its own text; not recorded as a
    search gap, and never for an incident the user may not see (Http404)."""
    if not can_view_incident(user, incident):
        raise Http404("No such incident.")
    already = set(
        Finding.objects.filter(postmortem__incident=incident, article__isnull=False).values_list(
            "article_id", flat=True
        )
    ) | set(ArticleUse.objects.filter(incident=incident).values_list("article_id", flat=True))
    page = article_search(
        query=_incident_query_text(incident),
        user=user,
        filters=SearchFilters(),
        limit=limit + len(already),
        record_gap=False,
    )
    return [hit for hit in page.hits if hit.article.pk not in already][:limit]


def incidents_for_article(*, article: Article, user: Any) -> QuerySet[Incident]:
    """The visible incidents behind an article: their findings link or spawned it, or their
    responders used it. Annotated with `via_finding` and `helped` (someone marked it helpful)."""
    findings = Finding.objects.filter(postmortem__incident=OuterRef("pk"), article=article)
    uses = ArticleUse.objects.filter(incident=OuterRef("pk"), article=article)
    return (
        _incidents_visible(user)
        .annotate(
            via_finding=Exists(findings),
            via_use=Exists(uses),
            helped=Exists(uses.filter(helped=True)),
        )
        .filter(Q(via_finding=True) | Q(via_use=True))
        .select_related("team", "postmortem")
        .prefetch_related(Prefetch("services"))
        .order_by("-started_at", "-id")
    )
