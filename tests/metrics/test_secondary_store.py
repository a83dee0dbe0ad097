"""The stored secondary figures (metrics.secondary_store) agree with their definitions
(metrics.secondary) for every month and every kind of scope, and reading them costs the same
whatever the data size."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kbsite.roles import user_roles
from kbsite.selectors import user_team_ids
from knowledge.models import ArticleRevision, ArticleState
from metrics.bulk import all_scope_keys, scope_from_key
from metrics.models import KpiSnapshot
from metrics.periods import ALL, Period, Scope, month_period, parse_month
from metrics.secondary import action_item_conditions, secondary_metrics
from metrics.secondary_store import (
    ACTION_ITEM_COUNTS,
    SECONDARY_KPI,
    STORED_MOST_REUSED,
    secondary_from_snapshot,
    secondary_snapshots_store,
)
from metrics.selectors import kpi_snapshots_by_period, secondary_metrics_stored
from postmortems.models import ActionItem, ArticleUse, PostmortemRevision
from tests.kbsite.factories import ServiceFactory, TeamFactory, UserFactory
from tests.knowledge.factories import ArticleFactory, published_article
from tests.metrics.scenarios import FEBRUARY, MARCH, at, incident
from tests.postmortems.factories import ActionItemFactory, FindingFactory, PostmortemFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 20)
JANUARY_2025 = parse_month("2025-01")  # nothing happened
APRIL = parse_month("2026-04")


def this_month() -> Period:
    """Factories record revisions "now": the current month has participation figures too."""
    return month_period(timezone.localdate())


def periods() -> list[Period]:
    return sorted({JANUARY_2025, FEBRUARY, MARCH, APRIL, this_month()})


@pytest.fixture
def world(payments_team, responder, outsider, editor):
    """Two teams, two services, every severity, a restricted incident, an incident that starts
    in February and resolves in March, one never detected, one never resolved; action items
    of every status; findings of every outcome; article uses within and across teams, of a
    draft too; revisions of postmortems and articles; articles past review and flagged."""
    platform = TeamFactory(name="Platform", slug="platform")
    checkout = ServiceFactory(name="checkout", team=payments_team)
    ledger = ServiceFactory(name="ledger", team=platform)
    ServiceFactory(name="unused", team=platform)  # a scope without any data

    def made(start, *, detect=None, **kwargs):
        created = incident(start, **kwargs)
        if detect is not None:
            created.detected_at = created.started_at + timedelta(minutes=detect)
            created.save()
        return created

    a = made("2026-03-02 10:00", hours=2, detect=10, team=payments_team, services=[checkout])
    b = made(
        "2026-03-05 10:00", hours=1, detect=30, team=payments_team, services=[checkout, ledger]
    )
    c = made("2026-03-09 10:00", hours=5, detect=20, team=platform, severity="sev1")
    d = made("2026-03-12 10:00", detect=40, team=platform, services=[ledger], severity="sev3")
    e = made("2026-02-27 10:00", hours=48, detect=5, team=platform, services=[ledger])
    made("2026-03-15 10:00", hours=3, team=platform, severity="sev4")  # never detected
    secret = made(
        "2026-03-18 10:00",
        hours=7,
        detect=12,
        team=payments_team,
        services=[checkout],
        visibility="restricted",
        severity="sev1",
    )
    g = made("2026-02-10 10:00", hours=4, detect=8, team=payments_team, services=[checkout])
    pm = {
        key: PostmortemFactory(incident=value)
        for key, value in {"a": a, "b": b, "d": d, "e": e, "secret": secret, "g": g}.items()
    }

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
    ActionItemFactory(postmortem=pm["e"], due_date=date(2026, 4, 2), status="open")
    ActionItemFactory(postmortem=pm["secret"], due_date=date(2026, 3, 31), status="open")
    ActionItemFactory(
        postmortem=pm["g"], due_date=date(2026, 2, 20), status="done", completed_at=None
    )

    rollback = published_article(
        title="Roll back a bad deploy", team=payments_team, services=[checkout]
    )
    drain = published_article(title="Drain a node", team=platform, services=[ledger])
    draft = ArticleFactory(title="Half-written runbook", state=ArticleState.DRAFT, team=platform)
    untended = published_article(title="Untended", review_due=date(2026, 3, 1))
    flagged = published_article(title="Flagged", team=platform, review_due=date(2026, 1, 1))
    flagged.open_flags = 2
    flagged.save()
    # Linked to these articles, so that no other published article comes into being.
    FindingFactory(postmortem=pm["a"], outcome="linked", article=rollback)
    FindingFactory(postmortem=pm["a"], outcome="spawned")
    FindingFactory(postmortem=pm["a"], outcome="nothing_to_capture")
    FindingFactory(postmortem=pm["b"])
    FindingFactory(postmortem=pm["e"], outcome="linked", article=drain)
    FindingFactory(postmortem=pm["d"], outcome="linked", article=drain)
    FindingFactory(postmortem=pm["secret"], outcome="spawned")
    FindingFactory(postmortem=pm["g"], outcome="linked", article=rollback)

    for article, used, user, helped in [
        (rollback, a, responder, True),
        (rollback, b, outsider, True),
        (rollback, c, outsider, False),
        (drain, a, responder, None),
        (draft, b, responder, None),
        (draft, c, responder, None),
        (draft, d, responder, None),
        (untended, secret, responder, True),
        (rollback, e, outsider, True),  # February
        (drain, g, outsider, True),  # February
    ]:
        ArticleUse.objects.create(
            incident=used,
            article=article,
            user=user,
            helped=helped,
            used_at=used.started_at + timedelta(minutes=15),
        )

    una, uli = UserFactory(username="una"), UserFactory(username="uli")
    for number, (postmortem, person, when) in enumerate(
        [
            (pm["a"], una, "2026-03-02 12:00"),
            (pm["b"], uli, "2026-03-31 23:59"),
            (pm["secret"], una, "2026-03-19 12:00"),
            (pm["g"], uli, "2026-02-11 12:00"),
        ],
        start=2,
    ):
        PostmortemRevision.objects.create(
            postmortem=postmortem,
            number=number,
            editor=person,
            state="draft",
            sections={},
            created_at=at(when),
        )
    for number, (article, person, when) in enumerate(
        [
            (rollback, uli, "2026-03-10 12:00"),
            (drain, editor, "2026-03-11 12:00"),
            (untended, una, "2026-02-01 00:00"),
        ],
        start=10,
    ):
        ArticleRevision.objects.create(
            article=article, number=number, editor=person, snapshot={}, created_at=at(when)
        )
    return {"articles": [rollback, drain, draft, untended, flagged]}


def live(*, period, key, user):
    return secondary_metrics(period=period, scope=scope_from_key(key), user=user, today=TODAY)


def stored(*, period, key, user):
    snapshot = KpiSnapshot.objects.get(
        kpi=SECONDARY_KPI, period_start=period.start, period_end=period.end, scope=key
    )
    figures = secondary_from_snapshot(snapshot=snapshot, user=user)
    assert figures is not None
    assert figures.computed_at == snapshot.computed_at
    return figures


def assert_same(got, expected, context) -> None:
    # Medians may differ in the last bit (PostgreSQL's percentile_cont interpolates).
    for name in ("mttd", "mttr"):
        mine, theirs = getattr(got, name), getattr(expected, name)
        assert mine.count == theirs.count, (name, context)
        assert mine.minutes == pytest.approx(theirs.minutes), (name, context)
    rest = {"mttd": None, "mttr": None, "computed_at": None}
    assert dataclasses.replace(got, **rest) == dataclasses.replace(expected, **rest), context


def test_stored_figures_equal_the_definitions_for_every_month_and_scope(
    world, outsider, editor, responder
):
    written = secondary_snapshots_store(periods=periods(), today=TODAY)

    keys = all_scope_keys()
    assert {"all", "team:payments", "service:checkout", "severity:sev1"} <= set(keys)
    assert written == len(periods()) * len(keys)
    for user in (outsider, editor, responder):
        for period in periods():
            for key in keys:
                assert_same(
                    stored(period=period, key=key, user=user),
                    live(period=period, key=key, user=user),
                    (user.username, period.label, key),
                )


def test_stored_figures_worked_out_by_hand(world, outsider):
    secondary_snapshots_store(periods=[MARCH], today=TODAY)

    march = stored(period=MARCH, key="all", user=outsider)
    # Detected, started in March: 10, 12, 20, 30, 40 min; resolved in March: 60, 120, 180,
    # 300, 420, 2880 min (e started in February) → the mean of the middle two, 240.
    assert (march.mttd.minutes, march.mttd.count) == (20.0, 5)
    assert (march.mttr.minutes, march.mttr.count) == (240.0, 6)
    assert dataclasses.astuple(march.action_items) == (5, 1, 1, 1, 2, 1)
    assert (march.link_rate.findings, march.link_rate.with_article) == (6, 4)
    # The draft is used as often, but oscar may not read it; the restricted incident's use
    # counts (without naming the incident).
    assert [(row.title, row.uses, row.helped) for row in march.most_reused] == [
        ("Roll back a bad deploy", 3, 2),
        ("Untended", 1, 1),
        ("Drain a node", 1, 0),
    ]
    # Team-owned: rollback (Payments) by rita, oscar, oscar; drain and the draft (Platform) by
    # rita four times. Only rita's use of rollback stays within the team.
    assert dataclasses.astuple(march.cross_team) == (7, 6)
    assert dataclasses.astuple(march.participation) == (2, 2, 3)
    assert dataclasses.astuple(march.freshness) == (4, 2, 1)
    assert march.today == TODAY
    sev1 = stored(period=MARCH, key="severity:sev1", user=outsider)
    assert (sev1.mttr.minutes, sev1.mttr.count) == (360.0, 2)  # c: 5 h, the secret one: 7 h
    assert sev1.freshness == march.freshness  # articles have no severity


def test_a_scope_without_data_gets_empty_figures_not_none(world, outsider):
    secondary_snapshots_store(periods=[JANUARY_2025, MARCH], today=TODAY)

    for period, key in ((JANUARY_2025, "all"), (MARCH, "service:unused")):
        empty = stored(period=period, key=key, user=outsider)
        assert (empty.mttd.minutes, empty.mttd.count) == (None, 0)
        assert empty.action_items.on_time_share is None
        assert empty.link_rate.share is None
        assert empty.most_reused == []
        assert dataclasses.astuple(empty.participation) == (0, 0, 0)
    # Knowledge freshness is today's, whatever the month.
    assert stored(period=JANUARY_2025, key="all", user=outsider).freshness.published == 4


def test_overdue_and_past_review_are_counted_as_of_the_jobs_day(world, outsider):
    secondary_snapshots_store(periods=[MARCH], today=date(2026, 3, 11))

    figures = stored(period=MARCH, key="all", user=outsider)
    # On 11 March only b's item (due the 12th) and the later ones are not yet due.
    assert (figures.action_items.overdue, figures.action_items.not_yet_due) == (0, 3)
    assert figures.freshness.past_review == 2
    assert figures.today == date(2026, 3, 11)


def test_storing_again_replaces_the_rows(world):
    first_count = secondary_snapshots_store(periods=[FEBRUARY, MARCH], today=TODAY)
    first = KpiSnapshot.objects.get(kpi=SECONDARY_KPI, scope="all", period_start=MARCH.start)
    ActionItem.objects.update(status="done", completed_at=at("2026-03-01 00:00"))

    again = secondary_snapshots_store(periods=[MARCH], today=TODAY)

    assert (first_count, again) == (2 * len(all_scope_keys()), len(all_scope_keys()))
    assert KpiSnapshot.objects.filter(kpi=SECONDARY_KPI).count() == first_count
    row = KpiSnapshot.objects.get(kpi=SECONDARY_KPI, scope="all", period_start=MARCH.start)
    assert row.pk == first.pk
    assert row.computed_at >= first.computed_at
    assert row.extra["action_items"]["done_on_time"] == 6  # every item due in March
    assert (row.value, row.numerator, row.denominator, row.incidents) == (None, 0, 0, [])


def test_the_store_costs_the_same_queries_for_one_month_or_thirteen(world):
    def queries(stored_periods):
        with CaptureQueriesContext(connection) as captured:
            secondary_snapshots_store(periods=stored_periods, today=TODAY)
        # Writes go in batches of 500 rows: count the reads.
        return len([q for q in captured.captured_queries if "INSERT" not in q["sql"]])

    one = queries([MARCH])
    thirteen = queries([month_period(date(2025, month, 1)) for month in range(3, 13)] + [MARCH])
    TeamFactory.create_batch(5)  # more scopes cost no more reads either

    assert queries(periods()) == one == thirteen


def test_the_stored_action_item_counts_are_the_definitions(db):
    # The store reads its count columns by these names, in this order.
    assert list(action_item_conditions(today=TODAY)) == ACTION_ITEM_COUNTS


def test_only_calendar_months_are_stored(db):
    with pytest.raises(ValueError, match="monthly"):
        secondary_snapshots_store(periods=[Period(start=date(2026, 3, 1), end=date(2026, 3, 8))])
    assert not KpiSnapshot.objects.exists()


def test_a_row_of_another_format_reads_as_not_computed(world, outsider):
    secondary_snapshots_store(periods=[MARCH], today=TODAY)
    KpiSnapshot.objects.filter(kpi=SECONDARY_KPI).update(extra={"format": 0})

    assert secondary_metrics_stored(period=MARCH, scope=ALL, user=outsider) is None


# --- most reused articles: stored before visibility, filtered when read -------------------


@pytest.fixture
def many_used_articles(payments_team, responder):
    """25 articles used in March, article n by 30 - n incidents; the top 3 are drafts."""
    incidents = [
        incident(f"2026-03-{day % 28 + 1:02d} 10:00", hours=1, team=payments_team)
        for day in range(30)
    ]
    articles = []
    for n in range(25):
        state = ArticleState.DRAFT if n < 3 else ArticleState.PUBLISHED
        article = ArticleFactory(title=f"Runbook {n:02d}", state=state)
        articles.append(article)
        for used in incidents[: 30 - n]:
            ArticleUse.objects.create(
                incident=used, article=article, user=responder, used_at=used.started_at
            )
    return articles


def test_most_reused_keeps_the_top_twenty_and_shows_a_reader_the_five_they_may_read(
    many_used_articles, outsider, editor
):
    secondary_snapshots_store(periods=[MARCH], today=TODAY)

    row = KpiSnapshot.objects.get(kpi=SECONDARY_KPI, scope="all", period_start=MARCH.start)
    assert len(row.extra["most_reused"]) == STORED_MOST_REUSED
    assert row.extra["most_reused"][0] == [many_used_articles[0].pk, 30, 0]
    shown = stored(period=MARCH, key="all", user=outsider).most_reused
    assert [(article.title, article.uses) for article in shown] == [
        (f"Runbook {n:02d}", 30 - n) for n in range(3, 8)
    ]
    assert shown == live(period=MARCH, key="all", user=outsider).most_reused
    assert [
        article.title for article in stored(period=MARCH, key="all", user=editor).most_reused
    ] == [f"Runbook {n:02d}" for n in range(5)]


def test_reading_stored_figures_is_two_queries_whatever_the_data(
    many_used_articles, outsider, django_assert_num_queries
):
    secondary_snapshots_store(periods=[MARCH], today=TODAY)
    user_roles(outsider)
    user_team_ids(user=outsider)

    # The snapshot, then the listed articles the reader may read.
    with django_assert_num_queries(2):
        figures = secondary_metrics_stored(period=MARCH, scope=ALL, user=outsider)

    assert figures is not None and len(figures.most_reused) == 5


def test_nothing_stored_reads_as_none(db, outsider, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert secondary_metrics_stored(period=MARCH, scope=ALL, user=outsider) is None


# --- the secondary rows never pass for a KPI ------------------------------------------------


def test_secondary_rows_never_reach_the_kpi_readers(world, outsider):
    from django.test import Client

    secondary_snapshots_store(periods=[MARCH], today=TODAY)
    client = Client()
    client.force_login(outsider)

    found = kpi_snapshots_by_period(
        kpis=["lessons_documented", "repeat_rate", "time_saved"], scope=ALL, periods=[MARCH]
    )
    listed = client.get("/api/v1/kpis/").json()
    asked = client.get("/api/v1/kpis/", {"kpi": SECONDARY_KPI, "period": "2026-03"})

    assert found == {}
    assert [row["key"] for row in listed["results"]] == [
        "lessons_documented",
        "repeat_rate",
        "time_saved",
    ]
    assert asked.status_code == 400
    assert list(asked.json()["error"]["fields"]) == ["kpi"]
    assert KpiSnapshot.objects.exclude(kpi=SECONDARY_KPI).count() == 0


def test_severity_and_service_scopes_are_stored(world, outsider):
    secondary_snapshots_store(periods=[MARCH], today=TODAY)

    scopes = set(KpiSnapshot.objects.filter(kpi=SECONDARY_KPI).values_list("scope", flat=True))

    assert {f"severity:sev{n}" for n in range(1, 5)} <= scopes
    assert {"service:checkout", "service:ledger", "service:unused", "team:platform"} <= scopes
    checkout = stored(period=MARCH, key="service:checkout", user=outsider)
    assert checkout.scope == Scope(kind="service", slug="checkout")
    # a, b and the restricted one resolved in March: 60, 120, 420 min.
    assert (checkout.mttr.minutes, checkout.mttr.count) == (120.0, 3)
    assert_same(checkout, live(period=MARCH, key="service:checkout", user=outsider), "checkout")
