"""Secondary figures against a March 2026 scenario worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kbsite.errors import InvalidInput
from kbsite.roles import user_roles
from kbsite.selectors import user_team_ids
from knowledge.models import ArticleRevision, ArticleState
from metrics.periods import ALL, Scope
from metrics.secondary import (
    ActionItemFigures,
    CrossTeamFigures,
    FreshnessFigures,
    LinkRateFigures,
    Median,
    ParticipationFigures,
    secondary_metrics,
)
from postmortems.models import ActionItem, ArticleUse, Finding, PostmortemRevision
from tests.kbsite.factories import TeamFactory, UserFactory
from tests.knowledge.factories import ArticleFactory, published_article
from tests.metrics.scenarios import MARCH, at, incident
from tests.postmortems.factories import ActionItemFactory, FindingFactory, PostmortemFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 20)


@pytest.fixture
def scenario(payments_team, responder, outsider):
    platform = TeamFactory(name="Platform", slug="platform")
    a = incident("2026-03-02 10:00", hours=2, team=payments_team)
    b = incident("2026-03-05 10:00", hours=1, team=payments_team)
    c = incident("2026-03-09 10:00", hours=5, team=platform)
    d = incident("2026-03-12 10:00", team=platform)  # not resolved
    e = incident("2026-02-27 10:00", hours=48, team=platform)  # resolved 2026-03-01 10:00
    f = incident("2026-03-15 10:00", hours=3, team=platform)  # never detected
    for made, minutes in ((a, 10), (b, 30), (c, 20), (d, 40), (e, 5)):
        made.detected_at = made.started_at + timedelta(minutes=minutes)
        made.save()
    made = {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}
    made["postmortems"] = {key: PostmortemFactory(incident=made[key]) for key in "abde"}
    return made


# --- MTTD and MTTR --------------------------------------------------------------------------


def test_mttd_and_mttr_are_medians_in_minutes(scenario, outsider):
    figures = secondary_metrics(period=MARCH, scope=ALL, user=outsider, today=TODAY)

    # Detected, started in March: 10, 20, 30, 40 min → the mean of the middle two.
    assert figures.mttd == Median(minutes=25.0, count=4)
    # Resolved in March: 60, 120, 180, 300, 2880 min (e started in February).
    assert figures.mttr == Median(minutes=180.0, count=5)


def test_mttd_and_mttr_in_a_team_scope(scenario, outsider):
    figures = secondary_metrics(
        period=MARCH, scope=Scope(kind="team", slug="payments"), user=outsider, today=TODAY
    )

    assert figures.mttd == Median(minutes=20.0, count=2)
    assert figures.mttr == Median(minutes=90.0, count=2)


def test_an_empty_period_is_no_data_everywhere(outsider):
    figures = secondary_metrics(period=MARCH, scope=ALL, user=outsider, today=TODAY)

    assert figures.mttd == Median(minutes=None, count=0)
    assert figures.mttr == Median(minutes=None, count=0)
    assert figures.action_items.on_time_share is None
    assert figures.freshness.past_review_share is None
    assert figures.link_rate.share is None
    assert figures.cross_team.share is None
    assert figures.most_reused == []
    assert figures.participation == ParticipationFigures(0, 0, 0)


# --- action items ---------------------------------------------------------------------------


def test_action_items_done_on_time_late_and_overdue(scenario, outsider):
    pm = scenario["postmortems"]
    due = date(2026, 3, 10)
    ActionItemFactory(
        postmortem=pm["a"], due_date=due, status="done", completed_at=at("2026-03-05 12:00")
    )
    ActionItemFactory(
        postmortem=pm["a"], due_date=due, status="done", completed_at=at("2026-03-15 12:00")
    )
    ActionItemFactory(postmortem=pm["b"], due_date=date(2026, 3, 12), status="open")
    ActionItemFactory(postmortem=pm["d"], due_date=date(2026, 3, 25), status="in_progress")
    ActionItemFactory(
        postmortem=pm["d"], due_date=date(2026, 3, 8), status="wont_do", status_reason="Moot"
    )
    ActionItemFactory(postmortem=pm["e"], due_date=date(2026, 4, 2), status="open")  # April

    figures = secondary_metrics(period=MARCH, scope=ALL, user=outsider, today=TODAY)

    assert figures.action_items == ActionItemFigures(
        due=4, done_on_time=1, done_late=1, overdue=1, not_yet_due=1, wont_do=1
    )
    assert figures.action_items.on_time_share == 0.25
    payments = secondary_metrics(
        period=MARCH, scope=Scope(kind="team", slug="payments"), user=outsider, today=TODAY
    )
    assert payments.action_items == ActionItemFigures(
        due=3, done_on_time=1, done_late=1, overdue=1, not_yet_due=0, wont_do=0
    )


# --- knowledge freshness --------------------------------------------------------------------


def test_freshness_counts_published_articles_past_their_review_date(payments_team, outsider):
    published_article(team=payments_team, review_due=date(2026, 3, 19))  # past
    published_article(team=payments_team, review_due=date(2026, 3, 20))  # due today: not past
    flagged = published_article(team=payments_team, review_due=date(2026, 9, 1))
    flagged.open_flags = 1
    flagged.save()
    ArticleFactory(team=payments_team, state=ArticleState.DRAFT, review_due=date(2025, 1, 1))
    ArticleFactory(team=payments_team, state=ArticleState.ARCHIVED, review_due=date(2025, 1, 1))
    published_article(review_due=date(2025, 1, 1))  # another team's

    team = secondary_metrics(
        period=MARCH, scope=Scope(kind="team", slug="payments"), user=outsider, today=TODAY
    )
    everything = secondary_metrics(period=MARCH, scope=ALL, user=outsider, today=TODAY)

    assert team.freshness == FreshnessFigures(published=3, past_review=1, flagged=1)
    assert team.freshness.past_review_share == pytest.approx(1 / 3)
    assert everything.freshness == FreshnessFigures(published=4, past_review=2, flagged=1)


# --- participation --------------------------------------------------------------------------


def test_participation_counts_distinct_authors_of_revisions_in_the_period(scenario, outsider):
    pm = scenario["postmortems"]
    u1, u2, u3, u4 = (UserFactory(username=name) for name in ("una", "uli", "uma", "ugo"))
    for number, (postmortem, editor, when) in enumerate(
        [
            (pm["a"], u1, "2026-03-02 12:00"),
            (pm["a"], u1, "2026-03-03 12:00"),
            (pm["b"], u2, "2026-03-31 23:59"),
            (pm["b"], u3, "2026-02-28 12:00"),  # February
        ],
        start=2,
    ):
        PostmortemRevision.objects.create(
            postmortem=postmortem,
            number=number,
            editor=editor,
            state="draft",
            sections={},
            created_at=at(when),
        )
    article = published_article()
    for number, (editor, when) in enumerate(
        [(u2, "2026-03-10 12:00"), (u4, "2026-03-11 12:00")], start=2
    ):
        ArticleRevision.objects.create(
            article=article, number=number, editor=editor, snapshot={}, created_at=at(when)
        )

    figures = secondary_metrics(period=MARCH, scope=ALL, user=outsider, today=TODAY)

    # Postmortems: una, uli; articles: uli, ugo; either: three people.
    assert figures.participation == ParticipationFigures(
        postmortem_authors=2, article_authors=2, people=3
    )


# --- link rate ------------------------------------------------------------------------------


def test_link_rate_over_findings_of_incidents_resolved_in_the_period(scenario, outsider):
    pm = scenario["postmortems"]
    FindingFactory(postmortem=pm["a"], outcome="linked")
    FindingFactory(postmortem=pm["a"], outcome="spawned")
    FindingFactory(postmortem=pm["a"], outcome="nothing_to_capture")
    FindingFactory(postmortem=pm["b"])  # unresolved
    FindingFactory(postmortem=pm["e"], outcome="linked")  # resolved 1 March
    FindingFactory(postmortem=pm["d"], outcome="linked")  # d is not resolved

    figures = secondary_metrics(period=MARCH, scope=ALL, user=outsider, today=TODAY)

    assert figures.link_rate == LinkRateFigures(findings=5, with_article=3, linked=2, spawned=1)
    assert figures.link_rate.share == 0.6
    assert Finding.objects.count() == 6


# --- reuse: most reused and across team lines -----------------------------------------------


@pytest.fixture
def reuse(scenario, payments_team, responder, outsider):
    platform = TeamFactory(name="Platform", slug="platform")
    x = published_article(title="Roll back a bad deploy", team=payments_team)
    y = published_article(title="Drain a node", team=platform)
    z = ArticleFactory(title="Half-written runbook", state=ArticleState.DRAFT)
    uses = [
        (x, "a", responder, True),
        (x, "b", outsider, True),
        (x, "c", outsider, False),
        (y, "a", responder, None),
        (z, "b", responder, None),
        (z, "c", responder, None),
        (z, "d", responder, None),
    ]
    for article, key, user, helped in uses:
        ArticleUse.objects.create(
            incident=scenario[key],
            article=article,
            user=user,
            helped=helped,
            used_at=scenario[key].started_at + timedelta(minutes=15),
        )
    # Used in February: outside the period.
    ArticleUse.objects.create(
        incident=scenario["e"],
        article=x,
        user=outsider,
        helped=True,
        used_at=at("2026-02-27 11:00"),
    )
    return {"x": x, "y": y, "z": z}


def test_most_reused_articles_lists_only_articles_the_reader_may_read(reuse, outsider):
    figures = secondary_metrics(period=MARCH, scope=ALL, user=outsider, today=TODAY)

    rows = [(row.title, row.uses, row.helped) for row in figures.most_reused]
    assert rows == [("Roll back a bad deploy", 3, 2), ("Drain a node", 1, 0)]
    assert figures.most_reused[0].helped_share == pytest.approx(2 / 3)
    assert figures.most_reused[0].path == reuse["x"].get_absolute_url()


def test_most_reused_articles_for_an_editor_include_drafts(reuse, editor):
    figures = secondary_metrics(period=MARCH, scope=ALL, user=editor, today=TODAY)

    rows = [(row.title, row.uses, row.helped) for row in figures.most_reused]
    assert rows == [
        ("Roll back a bad deploy", 3, 2),
        ("Half-written runbook", 3, 0),
        ("Drain a node", 1, 0),
    ]


def test_articles_read_across_team_lines(reuse, outsider):
    figures = secondary_metrics(period=MARCH, scope=ALL, user=outsider, today=TODAY)

    # Team-owned articles: x (Payments) used by rita (member), oscar twice; y (Platform) by rita.
    assert figures.cross_team == CrossTeamFigures(uses=4, across_teams=3)
    assert figures.cross_team.share == 0.75


# --- scope and cost -------------------------------------------------------------------------


def test_unknown_team_is_refused(db, outsider):
    with pytest.raises(InvalidInput) as refused:
        secondary_metrics(period=MARCH, scope=Scope(kind="team", slug="ghosts"), user=outsider)

    assert refused.value.field == "scope"


@pytest.mark.parametrize("scope", [ALL, Scope(kind="service", slug="checkout")])
def test_query_count_is_constant(reuse, outsider, scope, django_assert_num_queries):
    from tests.kbsite.factories import ServiceFactory

    ServiceFactory(name="checkout")
    user_roles(outsider)
    user_team_ids(user=outsider)

    with django_assert_num_queries(8 if scope is ALL else 9):
        secondary_metrics(period=MARCH, scope=scope, user=outsider, today=TODAY)


def test_action_item_statuses_are_the_models(db):
    # The figures name these statuses; a renamed status would silently count nothing.
    assert {"open", "in_progress", "done", "wont_do"} == set(ActionItem.Status.values)
