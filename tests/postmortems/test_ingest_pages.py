"""The alert integration pages: admins only, the secret shown once, the payload log escaped,
and query counts that do not grow with the log."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from postmortems.models import AlertIntegration, Incident, IngestedPayload
from tests.postmortems.factories import IncidentFactory, ServiceFactory, TeamFactory
from tests.postmortems.ingest_payloads import (
    alertmanager_payload,
    deliver,
    make_integration,
    prometheus_alert,
)
from tests.postmortems.view_helpers import html_of, main_of, messages_of, text_of

pytestmark = pytest.mark.django_db

LIST = "/postmortems/integrations/"


def detail(integration: AlertIntegration, action: str = "") -> str:
    return f"/postmortems/integrations/{integration.pk}/" + (f"{action}/" if action else "")


def shown_secret(response) -> str | None:
    found = re.search(r'id="integration-secret"[^>]*value="([^"]+)"', html_of(response))
    return found.group(1) if found else None


@pytest.fixture
def issued(admin_user, payments_team):
    return make_integration(user=admin_user, team=payments_team, source="alertmanager")


@pytest.fixture
def signed_in_admin(client, admin_user):
    client.force_login(admin_user)
    return client


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("person", ["responder", "reviewer", "editor", "manager", "outsider"])
def test_everyone_but_admins_is_refused_every_page(client, request, issued, person):
    client.force_login(request.getfixturevalue(person))
    integration = issued.integration
    hash_before = integration.secret_hash
    gets = [LIST, detail(integration), detail(integration, "delete")]
    posts = [
        (LIST, {"name": "Sneaky", "source": "grafana", "team": integration.team_id}),
        (detail(integration, "rotate"), {}),
        (detail(integration, "enabled"), {"enabled": "false"}),
        (detail(integration, "signing-secret"), {"signing_secret": "x"}),
        (detail(integration, "delete"), {}),
    ]
    assert [client.get(url).status_code for url in gets] == [403, 403, 403]
    assert [client.post(url, data).status_code for url, data in posts] == [403] * 5
    integration.refresh_from_db()
    assert (integration.secret_hash, integration.is_enabled) == (hash_before, True)
    assert list(AlertIntegration.objects.values_list("name", flat=True)) == ["Prod alertmanager"]


def test_signed_out_people_are_sent_to_sign_in(client, issued):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- create: the secret is shown once -----------------------------------------------------------


def test_creating_shows_the_url_and_the_secret_once(signed_in_admin, payments_team, admin_user):
    checkout = ServiceFactory(name="Checkout", slug="checkout", team=payments_team)
    response = signed_in_admin.post(
        LIST,
        {
            "name": "  Prod Alertmanager ",
            "source": "alertmanager",
            "team": payments_team.pk,
            "default_severity": "sev2",
            "default_services": [checkout.pk],
        },
    )
    integration = AlertIntegration.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{detail(integration)}#setup"
    assert (integration.name, integration.source, integration.team, integration.created_by) == (
        "Prod Alertmanager",
        "alertmanager",
        payments_team,
        admin_user,
    )
    assert (integration.default_severity, list(integration.default_services.all())) == (
        "sev2",
        [checkout],
    )

    page = signed_in_admin.get(detail(integration))

    secret = shown_secret(page)
    assert secret is not None and secret.startswith("kbi_")
    assert AlertIntegration.hash_secret(secret) == integration.secret_hash
    assert integration.secret_prefix == secret[:8]
    assert page["Cache-Control"] == "no-store"
    text = text_of(main_of(page))
    assert "Copy the secret now: you will not see it again." in text
    assert "http://127.0.0.1:8000/api/v1/ingest/alertmanager/" in html_of(page)
    assert f"credentials: {secret}" in text
    assert messages_of(response) == ["Created the integration “Prod Alertmanager”."]

    again = signed_in_admin.get(detail(integration))
    assert shown_secret(again) is None
    assert secret not in html_of(again)
    assert "credentials: &lt;the secret&gt;" in html_of(again)
    assert "Cache-Control" not in again


def test_the_created_secret_works_at_once(signed_in_admin, client, payments_team):
    signed_in_admin.post(
        LIST,
        {
            "name": "AM",
            "source": "alertmanager",
            "team": payments_team.pk,
            "default_severity": "sev3",
        },
    )
    integration = AlertIntegration.objects.get()
    secret = shown_secret(signed_in_admin.get(detail(integration)))
    response = deliver(client, "alertmanager", alertmanager_payload(), secret=secret)
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        pytest.param({}, ["This field is required."] * 4, id="nothing"),
        pytest.param(
            {"name": "   ", "source": "alertmanager", "default_severity": "sev3"},
            ["This field is required.", "This field is required."],
            id="blank-name-no-team",
        ),
        pytest.param(
            {"name": "N", "source": "nagios", "default_severity": "sev9"},
            [
                "Select a valid choice. nagios is not one of the available choices.",
                "This field is required.",
                "Select a valid choice. sev9 is not one of the available choices.",
            ],
            id="bad-choices",
        ),
        pytest.param(
            {"name": "x" * 101, "source": "grafana", "default_severity": "sev3"},
            [
                "Ensure this value has at most 100 characters (it has 101).",
                "This field is required.",
            ],
            id="long-name",
        ),
        pytest.param(
            {
                "name": "AM",
                "source": "alertmanager",
                "default_severity": "sev3",
                "signing_secret": "whsec",
                "team": "TEAM",
            },
            ["Only PagerDuty signs its webhooks: leave the signing secret empty."],
            id="signing-secret-not-pagerduty",
        ),
    ],
)
def test_bad_create_input_is_explained_and_creates_nothing(
    signed_in_admin, payments_team, data, errors
):
    if data.get("team") == "TEAM":
        data = {**data, "team": payments_team.pk}
    response = signed_in_admin.post(LIST, data)
    assert response.status_code == 400
    shown = re.findall(r'<ul class="errorlist[^"]*"[^>]*>\s*<li>(.*?)</li>', html_of(response))
    assert [text_of(message) for message in shown] == errors
    assert AlertIntegration.objects.count() == 0


# --- rotate, enable, signing secret, delete --------------------------------------------------


def test_rotating_replaces_the_secret(signed_in_admin, client, issued):
    response = signed_in_admin.post(detail(issued.integration, "rotate"))
    assert response.status_code == 302
    new_secret = shown_secret(signed_in_admin.get(detail(issued.integration)))
    assert new_secret and new_secret != issued.secret
    assert (
        deliver(client, "alertmanager", alertmanager_payload(), secret=issued.secret).status_code
        == 401
    )
    assert (
        deliver(client, "alertmanager", alertmanager_payload(), secret=new_secret).status_code
        == 201
    )


def test_disabling_and_enabling(signed_in_admin, client, issued):
    signed_in_admin.post(detail(issued.integration, "enabled"), {"enabled": "false"})
    issued.integration.refresh_from_db()
    assert issued.integration.is_enabled is False
    page = signed_in_admin.get(detail(issued.integration))
    assert "Disabled: deliveries are refused (403) and logged below." in text_of(main_of(page))
    assert (
        deliver(client, "alertmanager", alertmanager_payload(), secret=issued.secret).status_code
        == 403
    )

    response = signed_in_admin.post(detail(issued.integration, "enabled"), {"enabled": "true"})
    assert messages_of(response) == ["Enabled “Prod alertmanager”: its alerts open incidents."]
    issued.integration.refresh_from_db()
    assert issued.integration.is_enabled is True


def test_the_pagerduty_signing_secret_is_saved_and_removed(
    signed_in_admin, admin_user, payments_team
):
    pagerduty = make_integration(user=admin_user, team=payments_team, source="pagerduty")
    url = detail(pagerduty.integration, "signing-secret")

    saved = signed_in_admin.post(url, {"signing_secret": " pd-signing-secret "})
    pagerduty.integration.refresh_from_db()
    assert pagerduty.integration.signing_secret == "pd-signing-secret"
    assert messages_of(saved) == [
        "Saved the signing secret: deliveries must carry a valid X-PagerDuty-Signature."
    ]
    page = signed_in_admin.get(detail(pagerduty.integration))
    assert "pd-signing-secret" not in html_of(page)

    removed = signed_in_admin.post(url, {"signing_secret": ""})
    pagerduty.integration.refresh_from_db()
    assert pagerduty.integration.signing_secret == ""
    assert messages_of(removed) == ["Removed the signing secret: signatures are no longer checked."]


def test_a_signing_secret_is_refused_for_other_tools(signed_in_admin, issued):
    response = signed_in_admin.post(
        detail(issued.integration, "signing-secret"), {"signing_secret": "abc"}
    )
    assert messages_of(response) == [
        "Only PagerDuty signs its webhooks: leave the signing secret empty."
    ]
    issued.integration.refresh_from_db()
    assert issued.integration.signing_secret == ""


def test_deleting_keeps_the_incidents_it_opened(signed_in_admin, client, issued):
    deliver(client, "alertmanager", alertmanager_payload(), secret=issued.secret)
    confirm = signed_in_admin.get(detail(issued.integration, "delete"))
    assert "Delete the integration “Prod alertmanager”?" in text_of(main_of(confirm))

    response = signed_in_admin.post(detail(issued.integration, "delete"))

    assert response.status_code == 302
    assert response["Location"] == LIST
    assert AlertIntegration.objects.count() == 0
    assert IngestedPayload.objects.count() == 0
    assert Incident.objects.count() == 1
    assert (
        deliver(client, "alertmanager", alertmanager_payload(), secret=issued.secret).status_code
        == 401
    )


def test_a_missing_integration_is_404(signed_in_admin):
    assert signed_in_admin.get("/postmortems/integrations/999/").status_code == 404


# --- the payload log ----------------------------------------------------------------------------


def test_the_payload_log_shows_outcomes_and_links_incidents(signed_in_admin, client, issued):
    deliver(client, "alertmanager", alertmanager_payload(), secret=issued.secret)
    deliver(client, "alertmanager", {"version": "4"}, secret=issued.secret)
    incident = Incident.objects.get()

    page = signed_in_admin.get(detail(issued.integration))

    table = main_of(page).split('id="payload-log"')[1].split("<tbody>")[1]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    assert len(rows) == 2
    newest, oldest = (text_of(row) for row in rows)
    assert "rejected 400 alerts is missing: Alertmanager payloads carry it." in newest
    assert f"accepted 201 Opened incident #{incident.pk}." in oldest
    assert f'href="/postmortems/incidents/{incident.pk}/"' in rows[1]


def test_hostile_payloads_and_names_are_escaped(signed_in_admin, client, admin_user, payments_team):
    hostile = make_integration(
        user=admin_user,
        team=payments_team,
        source="alertmanager",
        name='<img src=x onerror="alert(1)">',
    )
    alert = prometheus_alert(fingerprint="<script>alert(2)</script>")
    alert["annotations"]["summary"] = "<script>alert(3)</script>"
    deliver(client, "alertmanager", alertmanager_payload(alert), secret=hostile.secret)
    deliver(
        client,
        "alertmanager",
        alertmanager_payload(prometheus_alert(status="<b>odd</b>")),
        secret=hostile.secret,
    )

    pages = [signed_in_admin.get(LIST), signed_in_admin.get(detail(hostile.integration))]

    for page in pages:
        html = html_of(page)
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "<b>odd</b>" not in html
    detail_html = html_of(pages[1])
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in detail_html
    assert "&lt;b&gt;odd&lt;/b&gt;" in detail_html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html_of(pages[0])


def test_unknown_secrets_are_listed_without_bodies(signed_in_admin, client, issued):
    deliver(client, "alertmanager", alertmanager_payload(), secret="stolen-or-stale")
    page = signed_in_admin.get(LIST)
    table = main_of(page).split('id="unowned-log"')[1]
    assert "No Prometheus Alertmanager integration has this secret" in text_of(table)
    assert "fingerprint" not in table


# --- query counts -------------------------------------------------------------------------------


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def fill(integration: AlertIntegration, count: int) -> None:
    incidents = [IncidentFactory(team=integration.team) for _ in range(3)]
    for number in range(count):
        IngestedPayload.objects.create(
            integration=integration,
            source=integration.source,
            accepted=number % 2 == 0,
            status_code=201 if number % 2 == 0 else 400,
            reason="Opened." if number % 2 == 0 else "Bad.",
            external_id=f"alertmanager:f{number}",
            incident=incidents[number % 3] if number % 2 == 0 else None,
            body_excerpt='{"version": "4"}',
        )
        IngestedPayload.objects.create(
            integration=None, source="grafana", accepted=False, status_code=401, reason="No."
        )


def test_the_list_page_costs_the_same_for_few_and_many(signed_in_admin, admin_user):
    teams = [TeamFactory() for _ in range(3)]
    service = ServiceFactory(team=teams[0])
    for number in range(2):
        make_integration(
            user=admin_user, team=teams[number], source="grafana", default_services=[service]
        )
    few = queries_of(signed_in_admin, LIST)
    for number in range(20):
        issued = make_integration(
            user=admin_user,
            team=teams[number % 3],
            source="opsgenie",
            name=f"Opsgenie {number}",
            default_services=[service],
        )
        fill(issued.integration, 2)
    many = queries_of(signed_in_admin, LIST)
    assert (few, many) == (8, 8)


def test_the_detail_page_costs_the_same_for_a_short_and_a_long_log(
    signed_in_admin, admin_user, payments_team
):
    short = make_integration(user=admin_user, team=payments_team, source="alertmanager")
    long = make_integration(user=admin_user, team=payments_team, source="alertmanager", name="Long")
    fill(short.integration, 2)
    fill(long.integration, 150)
    few = queries_of(signed_in_admin, detail(short.integration))
    many = queries_of(signed_in_admin, detail(long.integration))
    assert (few, many) == (6, 6)


def test_the_django_admin_lists_integrations_and_payloads(signed_in_admin, client, issued):
    deliver(client, "alertmanager", alertmanager_payload(), secret=issued.secret)
    for name in ("alertintegration", "ingestedpayload"):
        response = signed_in_admin.get(reverse(f"admin:postmortems_{name}_changelist"))
        assert response.status_code == 200
        assert issued.secret not in html_of(response)


def test_only_admins_find_the_integrations_link_in_the_postmortems_menu(
    client, admin_user, responder, manager
):
    link = f'href="{reverse("postmortems:integration_list")}"'
    for person, shown in ((admin_user, True), (responder, False), (manager, False)):
        client.force_login(person)
        assert (link in html_of(client.get(reverse("postmortems:index")))) is shown, person
