"""The stored incident facts stay true: a change marks what it can influence stale, the next
recompute refreshes it, and the figures then equal the per-figure definitions again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kbsite.events import emit
from knowledge.models import Article
from metrics import subscriptions
from metrics.facts import article_facts_invalidate, facts_refresh, incident_facts_invalidate
from metrics.kpis import KPIS
from metrics.models import FactsCoverage, IncidentFacts, KpiSnapshot
from metrics.periods import ALL, parse_month
from metrics.services import facts_horizon, kpi_period_recompute
from postmortems.models import ArticleUse, Incident
from postmortems.services.article_uses import article_use_record
from postmortems.services.incidents import incident_reject_repeat, incident_update
from tests.metrics.test_kpis import (  # noqa: F401
    MARCH,
    at,
    incident,
    repeat_scenario,
    reuse_scenario,
)
from tests.metrics.test_kpis import (
    test_recurrence_split_by_prior_knowledge as add_prior_knowledge,
)

pytestmark = pytest.mark.django_db


def stored(kpi: str, period=MARCH, scope: str = "all") -> KpiSnapshot:
    return KpiSnapshot.objects.get(kpi=kpi, period_start=period.start, scope=scope)


def assert_snapshot_is_the_definition(kpi: str, period=MARCH) -> None:
    snapshot = stored(kpi, period)
    expected = KPIS[kpi].compute(period=period, scope=ALL)
    assert (snapshot.value, snapshot.numerator, snapshot.denominator) == (
        pytest.approx(expected.value),
        pytest.approx(expected.numerator),
        expected.denominator,
    )
    assert snapshot.incidents == [[pk, counted] for pk, counted in expected.incidents]


def stale_ids() -> set[int]:
    return set(IncidentFacts.objects.filter(stale_at__isnull=False).values_list("pk", flat=True))


def test_a_recompute_builds_the_missing_facts(repeat_scenario):  # noqa: F811
    assert IncidentFacts.objects.count() == 0
    kpi_period_recompute(period=MARCH)
    # Every incident started or resolved from six months before March to its end has a row.
    horizon = Incident.objects.filter(started_at__gte=at("2025-09-01 00:00"))
    assert set(IncidentFacts.objects.values_list("pk", flat=True)) == set(
        horizon.values_list("pk", flat=True)
    )
    facts = IncidentFacts.objects.get(pk=repeat_scenario["i1"].pk)
    assert (facts.is_repeat, facts.helped, facts.baseline_seconds) == (True, False, None)
    assert not IncidentFacts.objects.get(pk=repeat_scenario["i5"].pk).is_repeat  # no category
    assert IncidentFacts.objects.get(pk=repeat_scenario["i4"].pk).is_repeat  # repeat_of
    assert_snapshot_is_the_definition("repeat_rate")


def test_a_thorough_check_lets_later_ones_look_only_at_newer_incidents(
    repeat_scenario,  # noqa: F811
):
    start, end = facts_horizon([MARCH])
    facts_refresh(start=start, end=end, thorough=True)
    coverage = FactsCoverage.objects.get()
    newest = Incident.objects.order_by("-pk").values_list("pk", flat=True).first()
    assert (coverage.start, coverage.end, coverage.through_incident_id) == (start, end, newest)
    # A bulk writer adds an incident: newer than the check, so the next refresh finds it.
    added = incident("2026-03-20 09:00", hours=2)
    assert facts_refresh(start=start, end=end).incidents == 1
    assert IncidentFacts.objects.filter(pk=added.pk, stale_at__isnull=True).exists()
    # "old" (August) dated into the window by a direct write, which queues no task: an older
    # incident, so only the next thorough check looks for it — and refreshes with it the seven
    # incidents of its category started within 180 days, which it may repeat or be repeated by.
    old = repeat_scenario["old"]
    Incident.objects.filter(pk=old.pk).update(started_at=at("2025-10-01 09:00"))
    assert facts_refresh(start=start, end=end).incidents == 0
    assert facts_refresh(start=start, end=end, thorough=True).incidents == 1 + 7
    assert IncidentFacts.objects.get(pk=old.pk).start_month == 2025 * 12 + 9
    assert stale_ids() == set()
    # A window the check did not cover is checked thoroughly.
    earlier_start, earlier_end = facts_horizon([parse_month("2025-12")])
    facts_refresh(start=earlier_start, end=earlier_end)
    assert FactsCoverage.objects.get().start == earlier_start


def test_an_incident_added_without_its_task_refreshes_the_rows_it_influences(
    repeat_scenario,  # noqa: F811
):
    kpi_period_recompute(period=MARCH)
    e2 = repeat_scenario["e2"]  # February, category c, search-api
    assert IncidentFacts.objects.get(pk=e2.pk).recurred_months == 0  # i6's pair is rejected
    # A bulk writer adds a March incident of e2's category and service: no task marks e2.
    added = incident(
        "2026-03-15 09:00",
        root_cause_category=e2.root_cause_category,
        services=[e2.services.get()],
        team=e2.team,
    )
    kpi_period_recompute(period=MARCH)
    # Its failure mode recurred in March, one month after its own.
    assert IncidentFacts.objects.get(pk=e2.pk).recurred_months == 1 << 1
    assert IncidentFacts.objects.get(pk=added.pk).is_repeat
    assert stale_ids() == set()
    expected = KPIS["repeat_rate"].compute(period=MARCH, scope=ALL)
    assert stored("repeat_rate").extra["recurrence"] == expected.extra["recurrence"]
    assert_snapshot_is_the_definition("repeat_rate")


def test_an_incident_without_facts_gets_a_stale_row_from_its_task(
    repeat_scenario,  # noqa: F811
    admin_user,
):
    start, end = facts_horizon([MARCH])
    facts_refresh(start=start, end=end, thorough=True)
    # "old" (August) is outside March's horizon, so it has no row; a service dates it into it.
    old = repeat_scenario["old"]
    assert not IncidentFacts.objects.filter(pk=old.pk).exists()
    incident_update(
        incident=old,
        user=admin_user,
        expected_version=old.version,
        started_at=at("2025-10-01 09:00"),
    )
    incident_facts_invalidate(incident_id=old.pk)  # what the "incident.updated" task does
    row = IncidentFacts.objects.get(pk=old.pk)
    assert row.stale_at is not None
    assert (row.started_at, row.team_id, row.service_ids) == (
        at("2025-10-01 09:00"),
        old.team_id,
        str(repeat_scenario["i2"].services.get().pk),
    )
    # The next (not thorough) refresh computes it, and the figures equal the definitions.
    kpi_period_recompute(period=MARCH)
    row.refresh_from_db()
    assert (row.stale_at, row.start_month) == (None, 2025 * 12 + 9)
    assert_snapshot_is_the_definition("repeat_rate")


def test_moving_an_earlier_incident_makes_a_later_one_a_repeat(
    repeat_scenario,  # noqa: F811
    admin_user,
):
    kpi_period_recompute(period=MARCH)
    assert stored("repeat_rate").numerator == 3
    old, i2 = repeat_scenario["old"], repeat_scenario["i2"]
    incident_update(
        incident=old,
        user=admin_user,
        expected_version=old.version,
        started_at=at("2025-12-20 09:00"),
    )
    # What the "incident.updated" handler's task does: mark, then recompute the months.
    marked = incident_facts_invalidate(incident_id=old.pk)
    assert i2.pk in stale_ids()
    assert marked == len(stale_ids())
    recomputed = kpi_period_recompute(period=parse_month("2025-12"))
    # The refresh found that March moved (i2 became a repeat) and says so, for the task to queue.
    assert MARCH.start in recomputed.moved_months
    assert stale_ids() == set()
    assert IncidentFacts.objects.get(pk=i2.pk).is_repeat
    kpi_period_recompute(period=MARCH)
    assert stored("repeat_rate").numerator == 4
    assert_snapshot_is_the_definition("repeat_rate")


def test_rejecting_a_suggested_repeat_lowers_the_figure(repeat_scenario, admin_user):  # noqa: F811
    kpi_period_recompute(period=MARCH)
    i1, b1, e1 = repeat_scenario["i1"], repeat_scenario["b1"], repeat_scenario["e1"]
    incident_reject_repeat(incident=i1, user=admin_user, earlier=e1)
    incident_facts_invalidate(incident_id=i1.pk)
    # The earlier incident's recurrence can change too.
    assert stale_ids() == {i1.pk, e1.pk}
    kpi_period_recompute(period=MARCH)
    # b1 (December, same service and category) still makes i1 a repeat.
    assert IncidentFacts.objects.get(pk=i1.pk).is_repeat
    incident_reject_repeat(incident=i1, user=admin_user, earlier=b1)
    incident_facts_invalidate(incident_id=i1.pk)
    kpi_period_recompute(period=MARCH)
    assert not IncidentFacts.objects.get(pk=i1.pk).is_repeat
    assert stored("repeat_rate").numerator == 2
    assert_snapshot_is_the_definition("repeat_rate")


def test_marking_help_on_a_comparable_incident_moves_a_later_baseline(
    reuse_scenario,  # noqa: F811
    admin_user,
):
    kpi_period_recompute(period=MARCH)
    target = IncidentFacts.objects.get(pk=reuse_scenario["a"].pk)
    assert target.baseline_seconds == pytest.approx(3.5 * 3600)
    article = ArticleUse.objects.filter(helped=True).first().article
    article_use_record(incident=reuse_scenario["c1"], user=admin_user, article=article, helped=True)
    incident_facts_invalidate(incident_id=reuse_scenario["c1"].pk)
    assert reuse_scenario["a"].pk in stale_ids()
    kpi_period_recompute(period=MARCH)
    # c1 (2 h) used an article, so it is no longer comparable: median of 3, 4 and 10 h.
    moved = IncidentFacts.objects.get(pk=reuse_scenario["a"].pk).baseline_seconds
    assert moved == pytest.approx(4 * 3600)
    assert_snapshot_is_the_definition("time_saved")


def test_a_change_marks_only_what_it_can_influence(repeat_scenario):  # noqa: F811
    start, end = facts_horizon([MARCH])
    facts_refresh(start=start, end=end)
    e2 = repeat_scenario["e2"]
    # Nothing it was computed from changed: only its own row is marked.
    incident_facts_invalidate(incident_id=e2.pk)
    assert stale_ids() == {e2.pk}
    # e2 (February, category c, no resolution) moves from search-api to checkout: incidents of
    # category c sharing either service, started in the 180 days after it (it may make them
    # repeats) and before it (it may be their recurrence), are marked. Not "old" (August, more
    # than 180 days before), i2 (ledger only), i4 (another category) or i5 (no category), nor
    # anything for baselines (not resolved).
    e2.services.set([repeat_scenario["i1"].services.get()])
    incident_facts_invalidate(incident_id=e2.pk)
    names = {made.pk: name for name, made in repeat_scenario.items()}
    assert {names[pk] for pk in stale_ids()} == {"b1", "e1", "e2", "i1", "i3", "i6"}


def test_a_row_marked_while_it_was_refreshed_stays_stale(repeat_scenario):  # noqa: F811
    start, end = facts_horizon([MARCH])
    facts_refresh(start=start, end=end)
    i1 = repeat_scenario["i1"]
    later = timezone.now() + timedelta(minutes=5)
    IncidentFacts.objects.filter(pk=i1.pk).update(stale_at=later)
    result = facts_refresh(start=start, end=end)
    assert result.incidents == 1
    assert IncidentFacts.objects.get(pk=i1.pk).stale_at == later


def test_an_incident_event_queues_the_facts_task(
    repeat_scenario,  # noqa: F811
    monkeypatch,
):
    from metrics import tasks

    queued = []
    monkeypatch.setattr(tasks.incident_changed, "delay", lambda **kwargs: queued.append(kwargs))
    subscriptions.on_incident_changed(incident_id=repeat_scenario["i1"].pk)
    subscriptions.on_article_use_recorded(incident_id=repeat_scenario["i2"].pk)
    assert queued == [
        {"incident_id": repeat_scenario["i1"].pk},
        {"incident_id": repeat_scenario["i2"].pk},
    ]


@pytest.mark.parametrize("event", ["incident.created", "incident.updated", "incident.resolved"])
def test_every_incident_event_queues_the_facts_task(
    repeat_scenario,  # noqa: F811
    monkeypatch,
    django_capture_on_commit_callbacks,
    event,
):
    from metrics import tasks

    queued = []
    monkeypatch.setattr(tasks.incident_changed, "delay", lambda **kwargs: queued.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        emit(event, incident_id=repeat_scenario["i1"].pk)
    assert queued == [{"incident_id": repeat_scenario["i1"].pk}]


def test_publishing_or_archiving_an_article_marks_the_incidents_that_link_it(
    repeat_scenario,  # noqa: F811
    monkeypatch,
):
    from metrics import tasks

    add_prior_knowledge(repeat_scenario)  # e1's postmortem links a published article
    start, end = facts_horizon([MARCH])
    facts_refresh(start=start, end=end)
    e1 = repeat_scenario["e1"]
    assert IncidentFacts.objects.get(pk=e1.pk).knowledge_since == at("2026-01-20 00:00")
    article = Article.objects.get(findings__postmortem__incident=e1)
    assert article_facts_invalidate(article_id=article.pk) == 1
    assert stale_ids() == {e1.pk}
    queued = []
    monkeypatch.setattr(tasks.article_changed, "delay", lambda **kwargs: queued.append(kwargs))
    subscriptions.on_article_changed(article_id=article.pk)
    assert queued == [{"article_id": article.pk}]
