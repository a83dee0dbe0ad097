"""What every source shares: authentication by the integration's secret, the refusals before a
payload is read, the payload log and its trimming, the rate limit and the schema."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group

from postmortems.models import Incident, IngestedPayload
from tests.postmortems.ingest_payloads import (
    alertmanager_payload,
    deliver,
    error,
    ingest_url,
    last_log,
    make_integration,
    nothing_stored,
    prometheus_alert,
)

pytestmark = pytest.mark.django_db

NO_SECRET = (
    "Send the integration's secret as `Authorization: Bearer <secret>` or "
    "`X-Kbsite-Token: <secret>`."
)
UNKNOWN_SECRET = (
    "No Prometheus Alertmanager integration has this secret: copy it again from the "
    "integration's page (rotating the secret replaces the old one), and check that the address "
    "ends in /ingest/alertmanager/."
)


@pytest.fixture
def issued(admin_user, payments_team):
    return make_integration(user=admin_user, team=payments_team, source="alertmanager")


def test_an_unknown_source_is_404_and_logs_nothing(client, issued):
    response = deliver(client, "nagios", alertmanager_payload(), secret=issued.secret)
    assert response.status_code == 404
    assert response.json() == error(
        "not_found",
        "There is no alert source 'nagios': use one of alertmanager, grafana, opsgenie, pagerduty.",
    )
    assert IngestedPayload.objects.count() == 0


def test_no_secret_is_401_logged_without_the_body(client, issued):
    response = deliver(client, "alertmanager", alertmanager_payload(), secret=None)

    assert response.status_code == 401
    assert response.json() == error("not_authenticated", NO_SECRET)
    assert response["WWW-Authenticate"] == 'Bearer realm="kbsite alert ingestion"'
    log = last_log()
    assert (log.integration, log.accepted, log.status_code, log.reason, log.body_excerpt) == (
        None,
        False,
        401,
        NO_SECRET,
        "",
    )
    assert log.remote_addr == "127.0.0.1"


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("kbi_not-a-real-secret", id="unknown"),
        pytest.param("x" * 5000, id="long"),
        pytest.param("' OR 1=1 --", id="hostile"),
    ],
)
def test_a_wrong_secret_is_401_and_changes_nothing(client, issued, secret):
    before = nothing_stored()
    response = deliver(client, "alertmanager", alertmanager_payload(), secret=secret)
    assert response.status_code == 401
    assert response.json() == error("authentication_failed", UNKNOWN_SECRET)
    assert nothing_stored() == before
    assert (last_log().integration, last_log().body_excerpt) == (None, "")


def test_the_secret_of_another_source_is_refused(client, admin_user, payments_team):
    grafana = make_integration(user=admin_user, team=payments_team, source="grafana")
    response = deliver(client, "alertmanager", alertmanager_payload(), secret=grafana.secret)
    assert response.status_code == 401
    assert Incident.objects.count() == 0


def test_a_personal_api_token_scheme_is_not_a_secret(client, issued):
    response = deliver(
        client,
        "alertmanager",
        alertmanager_payload(),
        secret=None,
        headers={"Authorization": f"Token {issued.secret}"},
    )
    assert response.status_code == 401


def test_the_x_kbsite_token_header_is_accepted(client, issued):
    response = deliver(
        client,
        "alertmanager",
        alertmanager_payload(),
        secret=None,
        headers={"X-Kbsite-Token": issued.secret},
    )
    assert response.status_code == 201


def test_a_secret_in_the_address_is_refused_with_what_to_do(client, issued):
    response = deliver(
        client, "alertmanager", alertmanager_payload(), secret=None, query=f"?token={issued.secret}"
    )
    assert response.status_code == 401
    assert response.json() == error(
        "not_authenticated",
        "Send the secret in a header (`Authorization: Bearer <secret>` or `X-Kbsite-Token: "
        "<secret>`), not in the address: addresses are written to logs.",
    )
    assert Incident.objects.count() == 0


def test_a_signed_in_session_does_not_stand_in_for_the_secret(client, issued, admin_user):
    client.force_login(admin_user)
    response = deliver(client, "alertmanager", alertmanager_payload(), secret=None)
    assert response.status_code == 401


def test_no_csrf_token_is_needed(issued):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = deliver(strict, "alertmanager", alertmanager_payload(), secret=issued.secret)
    assert response.status_code == 201


def test_a_disabled_integration_is_403_and_logged_with_the_body(client, issued, admin_user):
    from postmortems.ingest.services import integration_set_enabled

    integration_set_enabled(integration=issued.integration, user=admin_user, enabled=False)
    before = nothing_stored()

    response = deliver(client, "alertmanager", alertmanager_payload(), secret=issued.secret)

    message = (
        "The integration “Prod alertmanager” is disabled: an admin can enable it on its page "
        "under /postmortems/integrations/."
    )
    assert response.status_code == 403
    assert response.json() == error("integration_disabled", message)
    assert nothing_stored() == before
    log = last_log(issued.integration)
    assert (log.accepted, log.status_code, log.reason) == (False, 403, message)
    assert '"version": "4"' in log.body_excerpt


@pytest.mark.parametrize(
    ("content_type", "said"),
    [("text/plain", "'text/plain'"), ("application/x-www-form-urlencoded", None), ("", None)],
)
def test_a_body_that_is_not_json_is_415(client, issued, content_type, said):
    response = deliver(
        client,
        "alertmanager",
        None,
        raw=json.dumps(alertmanager_payload()).encode(),
        secret=issued.secret,
        content_type=content_type,
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    if said:
        assert response.json()["error"]["message"] == (
            f"Send the body as application/json (this request said {said})."
        )
    assert Incident.objects.count() == 0


def test_json_with_a_charset_is_json(client, issued):
    response = deliver(
        client,
        "alertmanager",
        alertmanager_payload(),
        secret=issued.secret,
        content_type="application/json; charset=utf-8",
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            b'{"version": "4", "alerts": [',
            "The body is not valid JSON (Expecting value at line 1, column 29).",
        ),
        (b"  ", "The body is not valid JSON (Expecting value at line 1, column 3)."),
        (b"\xff\xfe{}", "The body is not UTF-8 text."),
        (b"[" * 100_000 + b"]" * 100_000, "The body is nested too deeply."),
    ],
    ids=["truncated", "empty", "not-utf8", "deep"],
)
def test_malformed_json_is_400_and_changes_nothing(client, issued, raw, message):
    before = nothing_stored()
    response = deliver(client, "alertmanager", None, raw=raw, secret=issued.secret)
    assert response.status_code == 400
    assert response.json() == error("parse_error", message)
    assert nothing_stored() == before
    assert last_log(issued.integration).reason == message


def test_nul_characters_anywhere_are_refused(client, issued):
    alert = prometheus_alert()
    alert["annotations"]["description"] = "disk\u0000full"
    response = deliver(client, "alertmanager", alertmanager_payload(alert), secret=issued.secret)
    assert response.status_code == 400
    assert response.json() == error(
        "unexpected_payload",
        "alerts[0].annotations.description contains a NUL character.",
        "alerts[0].annotations.description",
    )
    # The excerpt keeps what was sent, readable.
    assert "disk\\u0000full" in last_log(issued.integration).body_excerpt


def test_a_body_over_the_limit_is_413_logged_without_the_body(client, issued, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    payload = alertmanager_payload(*[prometheus_alert(fingerprint=f"f{n}") for n in range(10)])
    before = nothing_stored()

    response = deliver(client, "alertmanager", payload, secret=issued.secret)

    message = "The body is larger than the limit of 2000 bytes: send fewer alerts per delivery."
    assert response.status_code == 413
    assert response.json() == error("too_large", message)
    assert nothing_stored() == before
    log = last_log(issued.integration)
    assert (log.status_code, log.reason, log.body_excerpt) == (413, message, "")


def test_the_body_excerpt_is_capped(client, issued):
    alert = prometheus_alert()
    alert["annotations"]["description"] = "x" * 40_000
    deliver(client, "alertmanager", alertmanager_payload(alert), secret=issued.secret)
    assert len(last_log(issued.integration).body_excerpt) == 16 * 1024


def test_an_integration_whose_creator_is_no_longer_admin_is_refused(client, issued, admin_user):
    admin_user.is_superuser = False
    admin_user.save()
    admin_user.groups.remove(Group.objects.get(name="admin"))
    before = nothing_stored()

    response = deliver(client, "alertmanager", alertmanager_payload(), secret=issued.secret)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "integration_owner_inactive"
    assert response.json()["error"]["message"].startswith(
        "The integration was set up by ada, who is no longer an active admin"
    )
    assert nothing_stored() == before


def test_deliveries_over_the_rate_limit_are_429(client, issued, settings):
    settings.INGEST_RATE_LIMIT = 2
    statuses = [
        deliver(client, "alertmanager", alertmanager_payload(), secret=issued.secret).status_code
        for _ in range(3)
    ]
    assert statuses == [201, 200, 429]
    refused = deliver(client, "alertmanager", alertmanager_payload(), secret="guess")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "throttled"
    # Refused before the secret is looked at: the guess is not even logged.
    assert IngestedPayload.objects.filter(integration__isnull=True).count() == 0


def test_the_log_keeps_the_newest_payloads(client, issued, settings):
    settings.INGEST_LOG_KEEP = 3
    for number in range(5):
        deliver(
            client,
            "alertmanager",
            alertmanager_payload(prometheus_alert(fingerprint=f"keep{number}")),
            secret=issued.secret,
        )
    kept = IngestedPayload.objects.filter(integration=issued.integration).order_by("id")
    assert [row.external_id.split("@")[0] for row in kept] == [
        "alertmanager:keep2",
        "alertmanager:keep3",
        "alertmanager:keep4",
    ]
    assert Incident.objects.count() == 5


def test_the_unowned_log_is_trimmed_too(client, issued, settings):
    settings.INGEST_LOG_KEEP = 2
    for _ in range(4):
        deliver(client, "alertmanager", alertmanager_payload(), secret="wrong")
    assert IngestedPayload.objects.filter(integration__isnull=True).count() == 2


def test_trimming_keeps_recent_event_ids_so_replays_stay_no_ops(
    client, admin_user, payments_team, settings
):
    from tests.postmortems.ingest_payloads import pagerduty_payload

    settings.INGEST_LOG_KEEP = 1
    pagerduty = make_integration(user=admin_user, team=payments_team, source="pagerduty")
    first = pagerduty_payload(event_id="EV-1")
    deliver(client, "pagerduty", first, secret=pagerduty.secret)
    deliver(client, "pagerduty", pagerduty_payload(event_id="EV-2"), secret=pagerduty.secret)
    deliver(client, "pagerduty", pagerduty_payload(event_id="EV-3"), secret=pagerduty.secret)

    replay = deliver(client, "pagerduty", first, secret=pagerduty.secret)

    assert replay.json()["duplicate"] is True


def test_get_is_405_in_the_error_shape(client, issued):
    response = client.get(ingest_url("alertmanager"))
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_the_schema_documents_the_endpoint_with_an_example_per_source(client, admin_user):
    client.force_login(admin_user)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/ingest/{source}/"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert sorted(examples) == ["Alertmanager", "Grafana", "Opsgenie", "PagerDuty"]
    assert sorted(operation["responses"]) == [
        "200",
        "201",
        "400",
        "401",
        "403",
        "404",
        "409",
        "413",
        "415",
        "429",
    ]
    source = next(p for p in operation["parameters"] if p["name"] == "source")
    assert source["schema"]["enum"] == ["alertmanager", "grafana", "opsgenie", "pagerduty"]
