"""The dashboard, its drill-downs and exports, and "recompute now": permissions, bad input,
restricted incidents, and a query count that does not grow with the data."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from metrics.kpis import KPIS
from metrics.models import KpiSnapshot, RecomputeRun
from metrics.periods import ALL, Scope, recent_months
from metrics.secondary_store import SECONDARY_KPI, secondary_snapshots_store
from metrics.services import kpi_snapshot_compute
from postmortems.models import ArticleUse
from tests.knowledge.factories import ArticleFactory, published_article
from tests.metrics.scenarios import FEBRUARY, MARCH, SECRET_TITLE, incident, lessons_scenario

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("metrics:dashboard")
DRILL_DOWN = reverse("metrics:kpi_drill_down")
DRILL_DOWN_CSV = reverse("metrics:kpi_drill_down_csv")
EXPORT = reverse("metrics:dashboard_csv")
RECOMPUTE = reverse("metrics:recompute")
PROGRESS = reverse("metrics:recompute_progress")
MARCH_FILTERS = {"start": "2025-03", "end": "2026-03"}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def scenario(payments_team):
    return lessons_scenario(payments_team)


@pytest.fixture
def figures(scenario, payments_team):
    """February and March computed for everything and for Payments, secondary figures too."""
    compute(periods=[FEBRUARY, MARCH], scopes=[ALL, Scope(kind="team", slug="payments")])
    secondary_snapshots_store(periods=[FEBRUARY, MARCH])
    return scenario


def compute(*, periods, scopes) -> None:
    for period in periods:
        for scope in scopes:
            for kpi in KPIS:
                kpi_snapshot_compute(kpi=kpi, period=period, scope=scope)


# --- reading the dashboard ------------------------------------------------------------------


def test_everyone_signed_in_may_read_the_dashboard(figures, outsider):
    response = signed_in(outsider).get(DASHBOARD, MARCH_FILTERS)

    assert response.status_code == 200
    assert "Recompute now" not in response.content.decode()


def test_signed_out_people_are_sent_to_sign_in(db):
    response = Client().get(DASHBOARD)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_cards_show_rounded_figures_changes_and_their_drill_downs(figures, outsider):
    page = signed_in(outsider).get(DASHBOARD, MARCH_FILTERS).content.decode()

    lessons = _section(page, "kpi-lessons_documented")
    assert "66.7 %" in lessons
    assert "2 of 3" in lessons
    # February had no resolved incidents: nothing to compare with.
    assert "No figure to compare with against February 2026" in lessons
    drill = f"{DRILL_DOWN}?kpi=lessons_documented&amp;period=2026-03&amp;scope=all"
    assert drill in lessons
    repeats = _section(page, "kpi-repeat_rate")
    assert "0.0 %" in repeats  # three incidents, none a repeat
    assert "Failure modes that had a published article recurred" in repeats
    assert "no data" in _section(page, "kpi-time_saved")


def test_the_month_in_progress_is_labelled_as_so_far(payments_team, outsider):
    today = timezone.now().date()
    page = signed_in(outsider).get(DASHBOARD).content.decode()
    running = f"{today:%B %Y}</strong>, so far (to {today.day} {today:%B}), every team"
    assert running in page
    # A month that has ended is the whole month.
    page = signed_in(outsider).get(DASHBOARD, MARCH_FILTERS).content.decode()
    assert "March 2026</strong>, every team and service." in page


def test_change_against_the_previous_month_is_coloured_by_what_is_good(scenario, outsider):
    kpi_snapshot_compute(kpi="lessons_documented", period=MARCH, scope=ALL)
    KpiSnapshot.objects.create(
        kpi="lessons_documented",
        period_start=FEBRUARY.start,
        period_end=FEBRUARY.end,
        scope="all",
        value=0.5,
        numerator=1,
        denominator=2,
    )
    KpiSnapshot.objects.create(
        kpi="repeat_rate",
        period_start=MARCH.start,
        period_end=MARCH.end,
        scope="all",
        value=0.25,
        numerator=1,
        denominator=4,
        extra={"baseline": 0.5, "reduction": 0.5},
    )
    KpiSnapshot.objects.create(
        kpi="repeat_rate",
        period_start=FEBRUARY.start,
        period_end=FEBRUARY.end,
        scope="all",
        value=0.125,
        numerator=1,
        denominator=8,
    )

    page = signed_in(outsider).get(DASHBOARD, MARCH_FILTERS).content.decode()

    assert '<p class="delta good">Up 16.7 percentage points' in _section(
        page, "kpi-lessons_documented"
    )
    repeats = _section(page, "kpi-repeat_rate")
    assert '<p class="delta bad">Up 12.5 percentage points' in repeats
    assert "Reduction against the baseline</dt><dd>50.0 %" in repeats


def test_time_saved_card_keeps_responders_estimates_apart(outsider):
    KpiSnapshot.objects.create(
        kpi="time_saved",
        period_start=MARCH.start,
        period_end=MARCH.end,
        scope="all",
        value=5.5,
        numerator=5.5,
        denominator=3,
        extra={
            "helped_incidents": 4,
            "without_baseline": 1,
            "estimated_minutes_saved": 90,
            "estimates": 2,
        },
    )

    card = _section(
        signed_in(outsider).get(DASHBOARD, MARCH_FILTERS).content.decode(), "kpi-time_saved"
    )

    assert "5.5 h" in card
    assert "3 incidents (1 more had a helpful article but no baseline)" in card
    assert "Responders&#x27; own estimates (not part of the figure)" in card
    assert "90 minutes (1.5 h) over 2 article uses" in card


def test_missing_snapshots_say_not_computed_yet_and_nothing_is_computed(scenario, outsider):
    page = signed_in(outsider).get(DASHBOARD, MARCH_FILTERS).content.decode()

    assert "not computed yet" in _section(page, "kpi-lessons_documented")
    assert "39 of the figures shown have not been computed yet" in page
    assert (
        "These figures for March 2026, every team and service are not computed yet — a "
        "manager can recompute them now; otherwise they fill in after the nightly recompute."
    ) in _section(page, "secondary-missing")
    assert 'id="metric-mttr"' not in page
    assert not KpiSnapshot.objects.exists()


def test_missing_secondary_figures_point_a_manager_to_recompute(scenario, manager):
    page = signed_in(manager).get(DASHBOARD, MARCH_FILTERS).content.decode()

    assert "not computed yet — press Recompute now to fill them in." in _section(
        page, "secondary-missing"
    )
    assert not KpiSnapshot.objects.exists()


def test_secondary_figures_are_read_from_their_snapshot_not_computed(figures, outsider):
    KpiSnapshot.objects.filter(kpi=SECONDARY_KPI).update(
        computed_at=timezone.now() - timedelta(hours=3)
    )
    # Incidents resolved after the snapshot change nothing on the page until a recompute.
    incident("2026-03-25 10:00", hours=30, team=figures.plain.team)

    page = signed_in(outsider).get(DASHBOARD, MARCH_FILTERS).content.decode()

    computed = _section(page, "secondary-computed")
    assert "For March 2026, every team and service; computed <time" in computed
    assert ">3\xa0hours ago</time>" in computed
    assert f"counted as of {timezone.localdate():%-d %B %Y}" in computed
    # The scenario's three incidents resolved in March took 1, 2 and 3 hours.
    assert '<p class="value">2.0 h</p>' in _section(page, "metric-mttr")
    assert "over 3 incidents resolved in the month" in _section(page, "metric-mttr")
    assert "secondary-missing" not in page


def test_most_reused_articles_on_the_page_are_those_the_reader_may_read(figures, outsider, editor):
    runbook = published_article(title="Roll back a bad deploy")
    draft = ArticleFactory(title="Half-written runbook")
    for article in (runbook, draft):
        ArticleUse.objects.create(
            incident=figures.plain,
            article=article,
            user=editor,
            used_at=figures.plain.started_at,
        )
    secondary_snapshots_store(periods=[MARCH])

    outsiders = _section(
        signed_in(outsider).get(DASHBOARD, MARCH_FILTERS).content.decode(), "most-reused"
    )
    editors = _section(
        signed_in(editor).get(DASHBOARD, MARCH_FILTERS).content.decode(), "most-reused"
    )

    assert "Roll back a bad deploy" in outsiders
    assert "Half-written runbook" not in outsiders
    assert "Half-written runbook" in editors


def test_page_states_each_method_and_when_the_figures_were_computed(figures, outsider):
    KpiSnapshot.objects.update(computed_at=timezone.now() - timedelta(minutes=12))

    page = signed_in(outsider).get(DASHBOARD, MARCH_FILTERS).content.decode()

    for definition in KPIS.values():
        # Code marks in the docstrings are left out of the page.
        assert escape(definition.method.replace("`", "")) in page
    assert "Computed 12\xa0minutes ago" in page
    assert "Time to resolve (median)" in page


def test_charts_read_their_data_from_a_json_block_and_the_page_has_no_inline_code(
    figures, outsider
):
    page = signed_in(outsider).get(DASHBOARD, MARCH_FILTERS).content.decode()

    data_block = re.search(
        r'<script id="dashboard-data" type="application/json">(.*?)</script>', page, re.S
    )
    assert data_block is not None
    data = json.loads(data_block.group(1))
    assert data["labels"][0] == "2025-03" and data["labels"][-1] == "2026-03"
    assert len(data["labels"]) == 13
    lessons = data["charts"][0]
    assert (lessons["key"], lessons["unit"]) == ("lessons_documented", "%")
    assert lessons["values"][-2:] == [None, 66.67]
    assert lessons["urls"][-1] == f"{DRILL_DOWN}?kpi=lessons_documented&period=2026-03&scope=all"
    for script in re.findall(r"<script\b[^>]*>", page):
        assert "src=" in script or 'type="application/json"' in script
    assert "style=" not in page
    assert " on" + "click=" not in page
    # Each chart has its table: thirteen months of figures.
    table = _section(page, "table-lessons_documented")
    assert table.count('<th scope="row">') == 13


def test_filters_select_a_team(figures, outsider):
    page = (
        signed_in(outsider).get(DASHBOARD, {**MARCH_FILTERS, "team": "payments"}).content.decode()
    )

    assert "team payments" in page
    assert f"{DRILL_DOWN}?kpi=repeat_rate&amp;period=2026-03&amp;scope=team%3Apayments" in page


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"end": "2026-3"}, "Give the period as YYYY-MM, for example 2026-03."),
        ({"end": "March"}, "Give the period as YYYY-MM, for example 2026-03."),
        ({"start": "2026-00"}, "is not a month between 2000-01 and 2100-12."),
        ({"start": "2026-03", "end": "2025-01"}, "The start month is after the end month"),
        ({"start": "2000-01", "end": "2100-12"}, "That is 1212 months; choose at most 60."),
        ({"team": "ghosts"}, "There is no team ghosts: choose one from the list."),
        ({"service": "<script>alert(1)</script>"}, "There is no service &lt;script&gt;"),
        ({"severity": "sev9"}, "There is no severity sev9"),
        ({"team": "payments", "severity": "sev1"}, "Choose one of team, service or severity"),
    ],
)
def test_bad_filters_get_a_clear_message_not_an_error(payments_team, outsider, params, message):
    response = signed_in(outsider).get(DASHBOARD, params)

    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert "<script>alert(1)</script>" not in page
    assert 'id="dashboard-data"' not in page
    assert not KpiSnapshot.objects.exists()


def test_query_count_does_not_grow_with_the_data(payments_team, outsider, responder):
    article = published_article(title="Roll back a bad deploy")

    def queries_for(incidents: int) -> int:
        for number in range(incidents):
            made = incident(f"2026-03-{number % 28 + 1:02d} 10:00", hours=1, team=payments_team)
            used = ArticleFactory(state="published") if number % 2 else article
            ArticleUse.objects.create(
                incident=made, article=used, user=responder, used_at=made.started_at
            )
        compute(periods=[MARCH], scopes=[ALL])
        secondary_snapshots_store(periods=[MARCH])
        client = signed_in(outsider)
        client.get(DASHBOARD, MARCH_FILTERS)  # warm the session
        with CaptureQueriesContext(connection) as captured:
            response = client.get(DASHBOARD, MARCH_FILTERS)
        assert response.status_code == 200
        assert 'id="most-reused"' in response.content.decode()
        return len(captured)

    small = queries_for(2)
    assert queries_for(30) == small
    # Session and user, roles, teams, filter choices, latest run, the scope check, the KPI
    # snapshots, the secondary snapshot and its readable articles: nothing grows with the data.
    assert small == 11


# --- drill-down -----------------------------------------------------------------------------


def test_drill_down_lists_visible_incidents_and_counts_the_others(figures, outsider):
    response = signed_in(outsider).get(
        DRILL_DOWN, {"kpi": "lessons_documented", "period": "2026-03", "scope": "all"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert f"#{figures.documented.pk} Checkout 503 after deploy" in page
    assert f"#{figures.plain.pk} Ledger lag" in page
    assert "1 incident you cannot see is counted in this figure but not listed." in page
    assert SECRET_TITLE not in page
    assert f"/incidents/{figures.secret.pk}/" not in page
    assert page.count("Yes: in the numerator") == 1
    assert page.count("No: denominator only") == 1
    assert reverse("postmortems:incident_detail", kwargs={"pk": figures.documented.pk}) in page


def test_drill_down_shows_everything_to_the_owning_team(figures, responder):
    page = (
        signed_in(responder)
        .get(DRILL_DOWN, {"kpi": "lessons_documented", "period": "2026-03", "scope": "all"})
        .content.decode()
    )

    assert SECRET_TITLE in page
    assert "you cannot see" not in page


def test_drill_down_computes_a_missing_figure(scenario, outsider):
    response = signed_in(outsider).get(
        DRILL_DOWN, {"kpi": "lessons_documented", "period": "2026-03"}
    )

    assert response.status_code == 200
    assert KpiSnapshot.objects.filter(kpi="lessons_documented", scope="all").count() == 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"kpi": "mttr", "period": "2026-03"}, "Unknown KPI &#x27;mttr&#x27;"),
        ({"kpi": "repeat_rate", "period": "2026-3"}, "Give the period as YYYY-MM"),
        ({"kpi": "repeat_rate"}, "Give the period as YYYY-MM"),
        ({"kpi": "repeat_rate", "period": "2026-03", "scope": "team:ghosts"}, "no team"),
        ({"kpi": "repeat_rate", "period": "2026-03", "scope": "nowhere"}, "Scope must be all"),
    ],
)
def test_drill_down_bad_input_is_a_clear_400(outsider, params, message):
    for url in (DRILL_DOWN, DRILL_DOWN_CSV):
        response = signed_in(outsider).get(url, params)

        assert response.status_code == 400
        assert message in response.content.decode()
    assert not KpiSnapshot.objects.exists()


def test_drill_down_csv_never_names_a_restricted_incident_to_an_outsider(figures, outsider):
    response = signed_in(outsider).get(
        DRILL_DOWN_CSV, {"kpi": "lessons_documented", "period": "2026-03", "scope": "all"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="kbsite-lessons_documented-2026-03-all-incidents.csv"'
    )

    def url(incident_):
        path = reverse("postmortems:incident_detail", kwargs={"pk": incident_.pk})
        return f"{settings.SITE_URL}{path}"

    assert csv_rows(response) == [
        ["incident_id", "title", "web_url", "in_numerator"],
        [str(figures.documented.pk), "Checkout 503 after deploy", url(figures.documented), "True"],
        [str(figures.plain.pk), "Ledger lag", url(figures.plain), "False"],
        ["", "1 incidents you may not see: counted, not listed", "", ""],
    ]


def test_csv_cells_cannot_become_spreadsheet_formulas(payments_team, outsider):
    incident("2026-03-03 10:00", hours=1, team=payments_team, title='=HYPERLINK("http://x","y")')

    rows = csv_rows(
        signed_in(outsider).get(DRILL_DOWN_CSV, {"kpi": "lessons_documented", "period": "2026-03"})
    )

    assert rows[1][1] == '\'=HYPERLINK("http://x","y")'


def test_chart_csv_exports_every_months_figures(figures, outsider):
    response = signed_in(outsider).get(
        EXPORT, {"start": "2026-02", "end": "2026-03", "kpi": "lessons_documented"}
    )

    assert response.status_code == 200
    march = KpiSnapshot.objects.get(kpi="lessons_documented", scope="all", period_start=MARCH.start)
    february = KpiSnapshot.objects.get(
        kpi="lessons_documented", scope="all", period_start=FEBRUARY.start
    )
    assert csv_rows(response) == [
        ["kpi", "period", "scope", "value", "numerator", "denominator", "unit", "computed_at"],
        [
            "lessons_documented",
            "2026-02",
            "all",
            "",
            "0.0",
            "0.0",
            "fraction",
            february.computed_at.isoformat(),
        ],
        [
            "lessons_documented",
            "2026-03",
            "all",
            str(2 / 3),
            "2.0",
            "3.0",
            "fraction",
            march.computed_at.isoformat(),
        ],
    ]


def test_chart_csv_of_every_chart_and_of_a_team(figures, outsider):
    rows = csv_rows(
        signed_in(outsider).get(EXPORT, {"start": "2026-02", "end": "2026-03", "team": "payments"})
    )

    assert [(row[0], row[1], row[2]) for row in rows[1:]] == [
        (key, month, "team:payments")
        for key in ("lessons_documented", "repeat_rate", "time_saved")
        for month in ("2026-02", "2026-03")
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"kpi": "nope"},
        {"end": "2026-99"},
        {"team": "ghosts"},
        {"start": "2026-05", "end": "2026-01"},
    ],
)
def test_chart_csv_bad_input_is_a_400(payments_team, outsider, params):
    response = signed_in(outsider).get(EXPORT, params)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


# --- recompute now --------------------------------------------------------------------------


def test_managers_see_the_recompute_button(figures, manager, admin_user):
    for person in (manager, admin_user):
        page = signed_in(person).get(DASHBOARD, MARCH_FILTERS).content.decode()
        assert 'id="recompute-now"' in page


def test_recompute_is_refused_to_everyone_but_managers(outsider, responder, reviewer, editor):
    for person in (outsider, responder, reviewer, editor):
        response = signed_in(person).post(RECOMPUTE)

        assert response.status_code == 403
    assert not RecomputeRun.objects.exists()


def test_recompute_needs_post(manager):
    assert signed_in(manager).get(RECOMPUTE).status_code == 405
    assert not RecomputeRun.objects.exists()


def test_recompute_pressed_twice_starts_one_run(manager, django_capture_on_commit_callbacks):
    client = signed_in(manager)

    with django_capture_on_commit_callbacks() as callbacks:
        first = client.post(RECOMPUTE, {"next": f"{DASHBOARD}?end=2026-03"})
        second = client.post(RECOMPUTE, {"next": "https://evil.example/"}, follow=True)

    assert RecomputeRun.objects.count() == 1
    assert len(callbacks) == 1
    assert first.status_code == 302
    assert first["Location"] == f"{DASHBOARD}?end=2026-03"
    # The unsafe `next` falls back to the dashboard, which says a run is already going.
    assert second.redirect_chain == [(DASHBOARD, 302)]
    page = second.content.decode()
    assert "A recompute is already running; this press started nothing new." in page
    assert 'hx-trigger="every 2s"' in page


def test_recompute_runs_and_fills_the_snapshots(
    scenario, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(manager).post(
            RECOMPUTE, {"next": f"{DASHBOARD}?end=2026-03"}, HTTP_HX_REQUEST="true"
        )

    run = RecomputeRun.objects.get()
    assert (run.status, run.is_active, run.error) == ("done", False, "")
    assert run.done_steps == run.total_steps > 0
    months = recent_months(today=timezone.now().date(), count=13)
    assert KpiSnapshot.objects.filter(
        kpi__in=list(KPIS), scope="all", period_start__in=[month.start for month in months]
    ).count() == 13 * len(KPIS)
    # The htmx answer is the status line, rendered before the commit let the run start: it
    # polls for progress.
    page = response.content.decode()
    assert page.startswith('<div id="recompute-status"')
    assert "Recompute started" in page
    assert "Recompute queued" in page
    assert 'hx-trigger="every 2s"' in page


def test_a_failing_enqueue_marks_the_run_failed(
    manager, monkeypatch, django_capture_on_commit_callbacks
):
    from metrics import tasks

    def broken(**kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.recompute_recent, "delay", broken)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(manager).post(RECOMPUTE)

    run = RecomputeRun.objects.get()
    assert (run.status, run.is_active) == ("failed", False)
    assert run.error == "ConnectionError: broker unreachable"
    # The next press may start again.
    with django_capture_on_commit_callbacks():
        signed_in(manager).post(RECOMPUTE)
    assert RecomputeRun.objects.filter(is_active=True).count() == 1


def test_progress_polls_while_a_run_is_active_and_stops_after(manager, outsider):
    run = RecomputeRun.objects.create(requested_by=manager, status="running", total_steps=40)
    RecomputeRun.objects.filter(pk=run.pk).update(done_steps=10)

    active = signed_in(outsider).get(PROGRESS).content.decode()

    assert 'hx-trigger="every 2s"' in active
    assert '<progress id="recompute-progress" max="40" value="10">' in active
    RecomputeRun.objects.filter(pk=run.pk).update(
        status="done", is_active=False, done_steps=40, finished_at=timezone.now()
    )
    done = signed_in(outsider).get(PROGRESS, HTTP_HX_CURRENT_URL="https://evil.example/").content
    assert b"hx-trigger" not in done
    assert f'<a href="{DASHBOARD}">reload to see the new figures</a>'.encode() in done


# --- helpers --------------------------------------------------------------------------------


def _section(page: str, element_id: str) -> str:
    """The HTML of the element with this id, up to its closing tag of the same name."""
    match = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"', page)
    assert match, f"no element #{element_id}"
    tag = match.group(1)
    end = page.index(f"</{tag}>", match.end())
    return page[match.start() : end]
