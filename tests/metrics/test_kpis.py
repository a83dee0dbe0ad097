"""KPI definitions against scenarios worked out by hand (DESIGN.md, "KPI contract")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from knowledge.models import ArticleState
from metrics.kpis import kpi_lessons_documented, kpi_repeat_rate, kpi_time_saved
from metrics.periods import ALL, Scope, parse_month
from postmortems.models import ArticleUse, Finding, PostmortemState, RepeatRejection
from tests.kbsite.factories import ServiceFactory, TeamFactory, UserFactory
from tests.knowledge.factories import published_article
from tests.postmortems.factories import IncidentFactory, PostmortemFactory, RootCauseCategoryFactory

pytestmark = pytest.mark.django_db

MARCH = parse_month("2026-03")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def incident(start: str, *, hours: float | None = None, **kwargs):
    started = at(start)
    resolved = started + timedelta(hours=hours) if hours is not None else None
    return IncidentFactory(started_at=started, resolved_at=resolved, **kwargs)


def postmortem(incident_, *, state: str, with_article: bool):
    pm = PostmortemFactory(incident=incident_, state=state)
    if with_article:
        Finding.objects.create(
            postmortem=pm,
            text="Readiness probe checked the wrong port",
            kind="root_cause",
            outcome="linked",
            article=published_article(),
            created_by=pm.created_by,
        )
    else:
        Finding.objects.create(
            postmortem=pm,
            text="A one-off typo in a dashboard",
            kind="contributing_factor",
            outcome="nothing_to_capture",
            no_article_reason="Nothing reusable",
            created_by=pm.created_by,
        )
    return pm


# --- lessons documented ---------------------------------------------------------------------


def test_lessons_documented_counts_published_postmortems_with_knowledge():
    team = TeamFactory(name="Payments")
    documented = incident("2026-03-05 10:00", hours=2, team=team)
    postmortem(documented, state=PostmortemState.PUBLISHED, with_article=True)
    nothing = incident("2026-03-10 10:00", hours=1, severity="sev1", team=team)
    postmortem(nothing, state=PostmortemState.PUBLISHED, with_article=False)
    no_postmortem = incident("2026-03-20 10:00", hours=1, severity="sev3", team=team)
    sev4 = incident("2026-03-21 10:00", hours=1, severity="sev4", team=team)
    postmortem(sev4, state=PostmortemState.PUBLISHED, with_article=True)
    # Started in February, resolved at the first instant of March: it belongs to March.
    crosses = incident("2026-02-27 12:00", team=team)
    crosses.resolved_at = at("2026-03-01 00:00")
    crosses.save()
    april = incident("2026-03-31 23:00", hours=1, team=team)  # resolved 2026-04-01 00:00
    in_review = incident("2026-03-15 10:00", hours=3, team=team)
    late = postmortem(in_review, state=PostmortemState.IN_REVIEW, with_article=True)

    result = kpi_lessons_documented(period=MARCH, scope=ALL)

    assert (result.numerator, result.denominator, result.value) == (1, 5, 0.2)
    assert result.incidents == sorted(
        [
            (documented.pk, True),
            (nothing.pk, False),
            (no_postmortem.pk, False),
            (crosses.pk, False),
            (in_review.pk, False),
        ]
    )
    assert april.pk not in dict(result.incidents)

    # Publishing after the period ends raises the earlier month's figure at its next recompute.
    late.state = PostmortemState.PUBLISHED
    late.save()
    assert kpi_lessons_documented(period=MARCH, scope=ALL).value == 0.4


def test_lessons_documented_is_no_data_for_an_empty_period():
    result = kpi_lessons_documented(period=parse_month("2026-01"), scope=ALL)
    assert (result.value, result.numerator, result.denominator, result.incidents) == (
        None,
        0,
        0,
        [],
    )


def test_lessons_documented_counts_a_spawned_article_whatever_its_state():
    spawned_from = incident("2026-03-05 10:00", hours=2)
    pm = PostmortemFactory(incident=spawned_from, state=PostmortemState.PUBLISHED)
    draft = published_article()
    draft.state = ArticleState.DRAFT
    draft.save()
    Finding.objects.create(
        postmortem=pm,
        text="x",
        kind="root_cause",
        outcome="spawned",
        article=draft,
        created_by=pm.created_by,
    )
    assert kpi_lessons_documented(period=MARCH, scope=ALL).value == 1.0


# --- repeat incidents -----------------------------------------------------------------------


@pytest.fixture
def repeat_scenario():
    c = RootCauseCategoryFactory(name="Scenario config", slug="scenario-config")
    d = RootCauseCategoryFactory(name="Scenario capacity", slug="scenario-capacity")
    s1, s2, s3 = (ServiceFactory(name=name) for name in ("checkout", "ledger", "search-api"))
    payments, platform = TeamFactory(name="Payments"), TeamFactory(name="Platform")
    people = UserFactory(username="judge")
    made = {
        "old": incident("2025-08-01 09:00", root_cause_category=c, services=[s2], team=platform),
        "b1": incident("2025-12-01 09:00", root_cause_category=c, services=[s1], team=platform),
        "e1": incident("2026-01-10 09:00", root_cause_category=c, services=[s1], team=platform),
        "e2": incident("2026-02-01 09:00", root_cause_category=c, services=[s3], team=platform),
        "i1": incident("2026-03-05 09:00", root_cause_category=c, services=[s1], team=payments),
        "i2": incident("2026-03-06 09:00", root_cause_category=c, services=[s2], team=payments),
        "i3": incident("2026-03-07 09:00", root_cause_category=c, services=[s1], team=platform),
        "i4": incident("2026-03-08 09:00", root_cause_category=d, services=[s1], team=platform),
        "i5": incident("2026-03-09 09:00", services=[s1], team=platform),
        "i6": incident("2026-03-10 09:00", root_cause_category=c, services=[s3], team=platform),
    }
    made["i4"].repeat_of = made["e1"]
    made["i4"].save()
    RepeatRejection.objects.create(incident=made["i3"], earlier=made["i1"], rejected_by=people)
    RepeatRejection.objects.create(incident=made["i6"], earlier=made["e2"], rejected_by=people)
    return made


def test_repeat_rate_by_the_rule_by_a_person_and_with_rejections(repeat_scenario):
    made = repeat_scenario
    result = kpi_repeat_rate(period=MARCH, scope=ALL)
    # i1 (e1 matches), i3 (e1 still matches after rejecting i1), i4 (marked by a person).
    # i2: its match started more than 180 days before; i5: no category; i6: pair rejected.
    assert (result.numerator, result.denominator, result.value) == (3, 6, 0.5)
    assert result.incidents == sorted(
        (made[key].pk, key in {"i1", "i3", "i4"}) for key in ("i1", "i2", "i3", "i4", "i5", "i6")
    )
    # Baseline: September–February, incidents b1, e1, e2; e1 repeats b1.
    assert result.extra["baseline"] == pytest.approx(1 / 3)
    assert result.extra["reduction"] == pytest.approx(1 - 0.5 / (1 / 3))


def test_repeat_rate_in_a_team_scope_counts_earlier_incidents_of_any_team(repeat_scenario):
    result = kpi_repeat_rate(period=MARCH, scope=Scope(kind="team", slug="payments"))
    # i1 (repeat of platform's e1) and i2.
    assert (result.numerator, result.denominator, result.value) == (1, 2, 0.5)
    assert result.extra["baseline"] is None
    assert result.extra["reduction"] is None


def test_repeat_rate_in_a_service_scope(repeat_scenario):
    result = kpi_repeat_rate(period=MARCH, scope=Scope(kind="service", slug="checkout"))
    # i1, i3, i4 repeat; i5 does not.
    assert (result.numerator, result.denominator) == (3, 4)


def test_repeat_rate_is_no_data_without_incidents():
    result = kpi_repeat_rate(period=MARCH, scope=ALL)
    assert (result.value, result.numerator, result.denominator) == (None, 0, 0)
    assert result.extra["reduction"] is None


def test_recurrence_split_by_prior_knowledge(repeat_scenario):
    made = repeat_scenario
    pm = PostmortemFactory(incident=made["e1"], state=PostmortemState.PUBLISHED)
    article = published_article()
    article.published_at = at("2026-01-20 00:00")
    article.save()
    Finding.objects.create(
        postmortem=pm,
        text="x",
        kind="root_cause",
        outcome="spawned",
        article=article,
        created_by=pm.created_by,
    )
    recurrence = kpi_repeat_rate(period=MARCH, scope=ALL).extra["recurrence"]
    # At risk: incidents with a category started in the 180 days before March: b1, e1, e2.
    # e1 had a published article and recurred (i1, i3); b1 recurred too (i1 within 180 days of
    # 2025-12-01); e2 recurred only through i6, which was rejected.
    assert recurrence == {
        "with_article": {"at_risk": 1, "recurred": 1},
        "without_article": {"at_risk": 2, "recurred": 1},
    }


# --- time saved -----------------------------------------------------------------------------


@pytest.fixture
def reuse_scenario():
    c = RootCauseCategoryFactory(name="Scenario config", slug="scenario-config")
    d = RootCauseCategoryFactory(name="Scenario capacity", slug="scenario-capacity")
    s1, s2, s3 = (ServiceFactory(name=name) for name in ("checkout", "ledger", "search-api"))
    user = UserFactory(username="helper")
    article = published_article()

    def helped(incident_, minutes=None):
        ArticleUse.objects.create(
            incident=incident_, article=article, user=user, helped=True, minutes_saved=minutes
        )
        return incident_

    made = {
        # Tier 1 for target a: sev2 sharing checkout, 2h 4h 3h 10h -> median 3.5 h.
        "c1": incident("2026-01-05 00:00", hours=2, services=[s1], root_cause_category=c),
        "c2": incident("2026-01-06 00:00", hours=4, services=[s1], root_cause_category=c),
        "c3": incident("2026-01-07 00:00", hours=3, services=[s1], root_cause_category=c),
        "c4": incident("2026-01-08 00:00", hours=10, services=[s1], root_cause_category=c),
        # Not comparable: helped during its own response; resolved too long before.
        "c5": helped(incident("2026-01-09 00:00", hours=0.5, services=[s1])),
        "c6": incident("2025-07-01 00:00", hours=100, services=[s1]),
        # Tier 2 for target b (sev3): one shares ledger; three share category "capacity".
        "d1": incident(
            "2026-02-01 00:00", hours=6, severity="sev3", services=[s2], root_cause_category=d
        ),
        "d2": incident(
            "2026-02-02 00:00", hours=8, severity="sev3", services=[s3], root_cause_category=d
        ),
        "d3": incident(
            "2026-02-03 00:00", hours=9, severity="sev3", services=[s3], root_cause_category=d
        ),
        "d4": incident(
            "2026-02-04 00:00", hours=100, severity="sev3", services=[s3], root_cause_category=c
        ),
        # Only two sev1 comparables: target c has no baseline.
        "e1": incident("2026-02-10 00:00", hours=5, severity="sev1", services=[s1]),
        "e2": incident("2026-02-11 00:00", hours=6, severity="sev1", services=[s1]),
    }
    made["a"] = helped(
        incident("2026-03-10 00:00", hours=1, services=[s1], root_cause_category=c), 30
    )
    made["b"] = helped(
        incident("2026-03-12 00:00", hours=5, severity="sev3", services=[s2], root_cause_category=d)
    )
    made["c"] = helped(incident("2026-03-15 00:00", hours=1, severity="sev1", services=[s1]))
    made["d"] = helped(incident("2026-03-16 00:00", hours=5, services=[s1], root_cause_category=c))
    return made


def test_time_saved_uses_the_median_of_comparable_incidents_with_fallbacks(reuse_scenario):
    made = reuse_scenario
    result = kpi_time_saved(period=MARCH, scope=ALL)
    # a: 3.5 h − 1 h = 2.5 h; b: 8 h − 5 h = 3 h; d: 3.5 h − 5 h → 0 h; c: no baseline.
    assert result.value == pytest.approx(5.5)
    assert result.numerator == pytest.approx(5.5)
    assert result.denominator == 3
    assert result.incidents == sorted(
        [(made["a"].pk, True), (made["b"].pk, True), (made["d"].pk, False)]
    )
    assert result.extra == {
        "helped_incidents": 4,
        "without_baseline": 1,
        "estimated_minutes_saved": 30,
        "estimates": 1,
    }


def test_time_saved_in_a_service_scope_keeps_baselines_from_all_incidents(reuse_scenario):
    result = kpi_time_saved(period=MARCH, scope=Scope(kind="service", slug="ledger"))
    assert (result.value, result.denominator) == (pytest.approx(3.0), 1)


def test_time_saved_is_no_data_without_reuse():
    result = kpi_time_saved(period=MARCH, scope=ALL)
    assert (result.value, result.numerator, result.denominator) == (None, 0, 0)


def test_unknown_scope_is_a_clear_error():
    from kbsite.errors import InvalidInput

    with pytest.raises(InvalidInput, match="There is no team 'nope'"):
        kpi_repeat_rate(period=MARCH, scope=Scope(kind="team", slug="nope"))


def test_severity_scope(reuse_scenario):
    result = kpi_time_saved(period=MARCH, scope=Scope(kind="severity", slug="sev3"))
    assert (result.value, result.denominator) == (pytest.approx(3.0), 1)
