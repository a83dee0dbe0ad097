"""The figures shown below the three headline KPIs: their definition, one (period, scope) at a time.

Each is one SQL aggregate (nine queries in all, whatever the data size), over the same period
and scope as the headline figures. These functions are the readable definition; the dashboard
does not call them. It reads snapshots that metrics.secondary_store computes for every month
and scope at once with the same conditions (the `*_conditions` below), and tests check that
both agree. Severity scopes filter incidents only; articles have no severity, so the knowledge
figures then cover every article.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from kbsite.models import TeamMembership
from knowledge.models import Article, ArticleRevision, ArticleState
from knowledge.permissions import articles_visible_q
from metrics.kpis import ratio, scoped_incidents
from metrics.periods import Period, Scope
from postmortems.models import ActionItem, ArticleUse, Finding, Incident, PostmortemRevision

MOST_REUSED_LIMIT = 5
HELPED = Q(helped=True)  # an article use that helped
OPEN_STATUSES = (ActionItem.Status.OPEN, ActionItem.Status.IN_PROGRESS)


@dataclass(frozen=True)
class Median:
    """A median duration in minutes over `count` incidents; None when there are none."""

    minutes: float | None
    count: int


@dataclass(frozen=True)
class ActionItemFigures:
    due: int  # due in the period, "won't do" left out
    done_on_time: int
    done_late: int
    overdue: int  # still open, due date passed
    not_yet_due: int
    wont_do: int

    @property
    def on_time_share(self) -> float | None:
        return ratio(self.done_on_time, self.due)


@dataclass(frozen=True)
class FreshnessFigures:
    published: int
    past_review: int
    flagged: int

    @property
    def past_review_share(self) -> float | None:
        return ratio(self.past_review, self.published)


@dataclass(frozen=True)
class ParticipationFigures:
    postmortem_authors: int
    article_authors: int
    people: int  # distinct people in either group


@dataclass(frozen=True)
class LinkRateFigures:
    findings: int
    with_article: int
    linked: int
    spawned: int

    @property
    def share(self) -> float | None:
        return ratio(self.with_article, self.findings)


@dataclass(frozen=True)
class ReusedArticle:
    id: int
    title: str
    path: str
    uses: int
    helped: int

    @property
    def helped_share(self) -> float | None:
        return ratio(self.helped, self.uses)


@dataclass(frozen=True)
class CrossTeamFigures:
    uses: int  # uses of articles owned by a team
    across_teams: int  # ... by someone who is not in that team

    @property
    def share(self) -> float | None:
        return ratio(self.across_teams, self.uses)


@dataclass(frozen=True)
class SecondaryMetrics:
    period: Period
    scope: Scope
    today: date  # the day "overdue" and "past review" are counted on
    mttd: Median
    mttr: Median
    action_items: ActionItemFigures
    freshness: FreshnessFigures
    participation: ParticipationFigures
    link_rate: LinkRateFigures
    most_reused: list[ReusedArticle]
    cross_team: CrossTeamFigures
    computed_at: datetime | None = None  # when read from a snapshot: when it was stored


def secondary_metrics(
    *, period: Period, scope: Scope, user: Any, today: date | None = None
) -> SecondaryMetrics:
    """Every secondary figure for (period, scope), as `user` may see it (the most reused
    articles list only articles the user may read). Raises InvalidInput for an unknown scope."""
    today = today or timezone.localdate()
    incidents = scoped_incidents(scope)
    articles = _scoped_articles(scope)
    return SecondaryMetrics(
        period=period,
        scope=scope,
        today=today,
        mttd=median_minutes(
            incidents.filter(started_at__gte=period.start_at, started_at__lt=period.end_at),
            until="detected_at",
        ),
        mttr=median_minutes(
            incidents.filter(resolved_at__gte=period.start_at, resolved_at__lt=period.end_at),
            until="resolved_at",
        ),
        action_items=action_item_figures(period=period, incidents=incidents, today=today),
        freshness=freshness_figures(articles=articles, today=today),
        participation=participation_figures(period=period, incidents=incidents, articles=articles),
        link_rate=link_rate_figures(period=period, incidents=incidents),
        most_reused=most_reused_articles(period=period, incidents=incidents, user=user),
        cross_team=cross_team_figures(period=period, incidents=incidents),
    )


def _scoped_articles(scope: Scope) -> QuerySet[Article]:
    if scope.kind == "team":
        return Article.objects.filter(team__slug=scope.slug)
    if scope.kind == "service":
        return Article.objects.filter(services__slug=scope.slug)
    return Article.objects.all()


def _epoch(column: str) -> str:
    """Seconds since 1970 of a timestamp column, as a float. On PostgreSQL date_part answers
    the same correctly rounded float as EXTRACT(EPOCH ...)::double precision, without the
    numeric arithmetic in between (several times faster over many rows)."""
    if connection.vendor == "postgresql":
        return f"date_part('epoch', {column})"
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


_DURATION_END_COLUMNS = ("detected_at", "mitigated_at", "resolved_at")


def median_minutes(incidents: QuerySet[Incident], *, until: str) -> Median:
    """The median of (`until` − started_at) over `incidents` that have `until`, in one query.
    The median of an even count is the mean of the middle two, as in the KPI contract."""
    if until not in _DURATION_END_COLUMNS:
        raise ValueError(f"not a timestamp of an incident: {until!r}")
    ids_sql, params = incidents.order_by().values("pk").query.sql_with_params()
    # Only fixed fragments are interpolated: the column named above, the dialect's epoch, and
    # the ORM's own SQL for the scope, whose values stay parameters.
    sql = f"""
        WITH durations AS (
            SELECT {_epoch("i." + until)} - {_epoch("i.started_at")} AS seconds
            FROM postmortems_incident i
            WHERE i.{until} IS NOT NULL AND i.id IN ({ids_sql})
        ),
        ranked AS (
            SELECT seconds,
                   ROW_NUMBER() OVER (ORDER BY seconds) AS position,
                   COUNT(*) OVER () AS size
            FROM durations
        )
        SELECT AVG(seconds), MAX(size) FROM ranked
        WHERE position IN ((size + 1) / 2, (size + 2) / 2)
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        seconds, size = cursor.fetchone()
    if not size:
        return Median(minutes=None, count=0)
    # SQLite's julianday carries float noise of a few microseconds: keep whole milliseconds.
    return Median(minutes=round(float(seconds), 3) / 60, count=int(size))


def action_item_conditions(*, today: date) -> dict[str, Q]:
    """What each action item count counts, for items already chosen by due date and scope."""
    done = Q(status=ActionItem.Status.DONE)
    is_open = Q(status__in=OPEN_STATUSES)
    return {
        "due": ~Q(status=ActionItem.Status.WONT_DO),
        "done": done,
        "done_late": done & Q(completed_at__isnull=False, completed_at__date__gt=F("due_date")),
        "overdue": is_open & Q(due_date__lt=today),
        "not_yet_due": is_open & Q(due_date__gte=today),
        "wont_do": Q(status=ActionItem.Status.WONT_DO),
    }


def action_item_figures_from_counts(counts: dict[str, int]) -> ActionItemFigures:
    return ActionItemFigures(
        due=counts["due"],
        done_on_time=counts["done"] - counts["done_late"],
        done_late=counts["done_late"],
        overdue=counts["overdue"],
        not_yet_due=counts["not_yet_due"],
        wont_do=counts["wont_do"],
    )


def action_item_figures(
    *, period: Period, incidents: QuerySet[Incident], today: date
) -> ActionItemFigures:
    """Action items of the scope's postmortems that fall due in the period: done by their due
    date, done after it, still open past it (overdue), still open and not yet due, won't do."""
    items = ActionItem.objects.filter(
        postmortem__incident__in=incidents,
        due_date__gte=period.start,
        due_date__lt=period.end,
    )
    counts = items.aggregate(
        **{
            name: Count("pk", filter=condition)
            for name, condition in action_item_conditions(today=today).items()
        }
    )
    return action_item_figures_from_counts(counts)


def freshness_conditions(*, today: date) -> dict[str, Q]:
    """What each freshness count counts, among published articles."""
    return {"past_review": Q(review_due__lt=today), "flagged": Q(open_flags__gt=0)}


def freshness_figures(*, articles: QuerySet[Article], today: date) -> FreshnessFigures:
    """Published articles today, how many are past their review date, how many are flagged."""
    counts = articles.filter(state=ArticleState.PUBLISHED).aggregate(
        published=Count("pk", distinct=True),
        **{
            name: Count("pk", filter=condition, distinct=True)
            for name, condition in freshness_conditions(today=today).items()
        },
    )
    return FreshnessFigures(**counts)


def participation_figures(
    *, period: Period, incidents: QuerySet[Incident], articles: QuerySet[Article]
) -> ParticipationFigures:
    """Distinct people who saved a revision of a postmortem (of the scope's incidents) or of an
    article (of the scope's articles) during the period."""
    in_period = {"created_at__gte": period.start_at, "created_at__lt": period.end_at}
    postmortem_editors = PostmortemRevision.objects.filter(
        postmortem__incident__in=incidents, **in_period
    ).values("editor_id")
    article_editors = ArticleRevision.objects.filter(
        article__in=articles.values("pk"), **in_period
    ).values("editor_id")
    wrote_postmortem = Q(pk__in=postmortem_editors)
    wrote_article = Q(pk__in=article_editors)
    counts = (
        get_user_model()
        .objects.filter(wrote_postmortem | wrote_article)
        .aggregate(
            postmortem_authors=Count("pk", filter=wrote_postmortem),
            article_authors=Count("pk", filter=wrote_article),
            people=Count("pk"),
        )
    )
    return ParticipationFigures(**counts)


# What each link-rate count counts, among the findings of the period and scope (all of them
# for `findings`).
LINK_RATE_CONDITIONS = {
    "with_article": Q(article__isnull=False),
    "linked": Q(outcome=Finding.Outcome.LINKED),
    "spawned": Q(outcome=Finding.Outcome.SPAWNED),
}


def link_rate_figures(*, period: Period, incidents: QuerySet[Incident]) -> LinkRateFigures:
    """Findings of the postmortems of incidents resolved in the period, and how many of them
    link to, or spawned, a knowledge article (whatever that article's state)."""
    findings = Finding.objects.filter(
        postmortem__incident__in=incidents.filter(
            resolved_at__gte=period.start_at, resolved_at__lt=period.end_at
        )
    )
    counts = findings.aggregate(
        findings=Count("pk"),
        **{name: Count("pk", filter=condition) for name, condition in LINK_RATE_CONDITIONS.items()},
    )
    return LinkRateFigures(**counts)


def _uses_in(period: Period, incidents: QuerySet[Incident]) -> QuerySet[ArticleUse]:
    return ArticleUse.objects.filter(
        incident__in=incidents, used_at__gte=period.start_at, used_at__lt=period.end_at
    )


def most_reused_articles(
    *, period: Period, incidents: QuerySet[Incident], user: Any, limit: int = MOST_REUSED_LIMIT
) -> list[ReusedArticle]:
    """The articles used most often during the response to the scope's incidents in the period
    (only articles `user` may read), with how many of those uses helped."""
    rows = (
        _uses_in(period, incidents)
        .filter(article__in=Article.objects.filter(articles_visible_q(user)).values("pk"))
        .values("article_id", "article__title", "article__slug")
        .annotate(uses=Count("pk"), helped=Count("pk", filter=HELPED))
        .order_by("-uses", "-helped", "article__title", "article_id")[:limit]
    )
    return [
        ReusedArticle(
            id=row["article_id"],
            title=row["article__title"],
            path=Article(pk=row["article_id"], slug=row["article__slug"]).get_absolute_url(),
            uses=row["uses"],
            helped=row["helped"],
        )
        for row in rows
    ]


def cross_team_conditions() -> dict[str, Q]:
    """What each count of article uses counts: uses of team-owned articles, and those by
    someone who is not in the article's team."""
    member = TeamMembership.objects.filter(
        team_id=OuterRef("article__team_id"), user_id=OuterRef("user_id")
    )
    team_owned = Q(article__team__isnull=False)
    return {"uses": team_owned, "across_teams": Q(team_owned, ~Exists(member))}


def cross_team_figures(*, period: Period, incidents: QuerySet[Incident]) -> CrossTeamFigures:
    """Uses of team-owned articles in the period, and how many were by someone outside the
    article's team — knowledge crossing team lines, the opposite of a silo."""
    counts = _uses_in(period, incidents).aggregate(
        **{
            name: Count("pk", filter=condition)
            for name, condition in cross_team_conditions().items()
        }
    )
    return CrossTeamFigures(**counts)
