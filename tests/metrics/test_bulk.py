"""The jobs' bulk computation agrees with the per-figure definitions, for every scope."""

from __future__ import annotations

import pytest
from django.utils import timezone

from knowledge.models import Article, ArticleState
from metrics.bulk import BULK, BULK_MONTHS, all_scope_keys, empty_result, scope_from_key
from metrics.facts import facts_refresh
from metrics.kpis import KPIS
from metrics.models import IncidentFacts, KpiSnapshot
from metrics.periods import parse_month
from metrics.services import facts_horizon, kpi_period_recompute
from tests.metrics.scenarios import lessons_scenario
from tests.metrics.test_kpis import (  # noqa: F401
    MARCH,
    repeat_scenario,
    reuse_scenario,
)
from tests.metrics.test_kpis import (
    test_recurrence_split_by_prior_knowledge as add_prior_knowledge,
)

pytestmark = pytest.mark.django_db


def assert_bulk_matches_definitions(period):
    start, end = facts_horizon([period])
    facts_refresh(start=start, end=end)
    for kpi, compute in BULK.items():
        bulk = compute(period=period)
        for key in all_scope_keys():
            expected = KPIS[kpi].compute(period=period, scope=scope_from_key(key))
            got = bulk.get(key) or empty_result(kpi)
            assert got.value == pytest.approx(expected.value), (kpi, key)
            assert (got.numerator, got.denominator) == pytest.approx(
                (expected.numerator, expected.denominator)
            ), (kpi, key)
            assert got.incidents == expected.incidents, (kpi, key)
            assert got.extra == pytest.approx(expected.extra) if kpi == "time_saved" else True
            if kpi == "repeat_rate":
                assert got.extra["recurrence"] == expected.extra["recurrence"], key
                assert got.extra["baseline"] == pytest.approx(expected.extra["baseline"]), key
                assert got.extra["reduction"] == pytest.approx(expected.extra["reduction"]), key


def test_bulk_repeat_rate_matches(repeat_scenario):  # noqa: F811
    assert_bulk_matches_definitions(MARCH)


def test_bulk_time_saved_matches(reuse_scenario):  # noqa: F811
    assert_bulk_matches_definitions(MARCH)


def test_bulk_lessons_documented_matches(payments_team):
    lessons_scenario(payments_team)
    assert_bulk_matches_definitions(MARCH)
    assert BULK["lessons_documented"](period=MARCH)["all"].numerator == 2


def test_bulk_on_an_empty_period_is_no_data_everywhere():
    assert_bulk_matches_definitions(parse_month("2025-01"))


def test_recompute_writes_one_row_per_kpi_and_scope_and_replaces_it(reuse_scenario):  # noqa: F811
    count = kpi_period_recompute(period=MARCH).figures
    expected = len(KPIS) * len(all_scope_keys())
    assert count == expected
    assert KpiSnapshot.objects.filter(kpi__in=KPIS).count() == expected
    first = KpiSnapshot.objects.get(kpi="time_saved", scope="all")
    kpi_period_recompute(period=MARCH)
    assert KpiSnapshot.objects.filter(kpi__in=KPIS).count() == expected
    again = KpiSnapshot.objects.get(kpi="time_saved", scope="all")
    assert (again.pk, again.value, again.incidents) == (first.pk, first.value, first.incidents)
    assert again.computed_at >= first.computed_at
    # Found equal: only computed_at was written again.
    assert again.digest == first.digest != ""


def test_a_run_lost_for_two_hours_no_longer_blocks_a_new_one():
    from datetime import timedelta

    from django.utils import timezone

    from metrics.models import RecomputeRun
    from metrics.services import recompute_run_start
    from tests.kbsite.factories import UserFactory

    manager = UserFactory(username="maya-runs")
    lost, created = recompute_run_start(user=manager)
    assert created
    again, created_again = recompute_run_start(user=manager)
    assert (again.pk, created_again) == (lost.pk, False)
    RecomputeRun.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(hours=3))
    fresh, created_fresh = recompute_run_start(user=manager)
    assert created_fresh and fresh.pk != lost.pk
    lost.refresh_from_db()
    assert (lost.status, lost.is_active) == (RecomputeRun.Status.FAILED, False)


def test_bulk_recurrence_with_prior_knowledge_and_a_rejected_pair_matches(
    repeat_scenario,  # noqa: F811
):
    # e1's postmortem links an article published in January; e2 recurred only through i6,
    # which rejected it (the stored failure modes must not count that pair).
    add_prior_knowledge(repeat_scenario)
    assert_bulk_matches_definitions(MARCH)
    # An article archived since no longer counts as knowledge the failure mode had.
    article = Article.objects.get(findings__postmortem__incident=repeat_scenario["e1"])
    Article.objects.filter(pk=article.pk).update(state=ArticleState.ARCHIVED)
    IncidentFacts.objects.update(stale_at=timezone.now())
    assert_bulk_matches_definitions(MARCH)
    with_article = BULK["repeat_rate"](period=MARCH)["all"].extra["recurrence"]["with_article"]
    assert with_article == {"at_risk": 0, "recurred": 0}


def test_months_computed_at_once_equal_each_month_alone(repeat_scenario):  # noqa: F811
    # The nightly job computes its months in one pass (each month's repeats also serve the
    # baselines of the six after it); it must give what each month gives alone.
    add_prior_knowledge(repeat_scenario)
    periods = [parse_month(label) for label in ("2025-12", "2026-01", "2026-02", "2026-03")]
    start, end = facts_horizon(periods)
    facts_refresh(start=start, end=end)
    for kpi, compute in BULK_MONTHS.items():
        together = compute(periods=periods)
        assert sorted(together) == [period.label for period in periods]
        for period in periods:
            assert together[period.label] == BULK[kpi](period=period), (kpi, period.label)
    assert BULK_MONTHS["repeat_rate"](periods=periods)["2026-03"]["all"].numerator == 3
