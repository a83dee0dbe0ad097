"""incident_create, incident_update and incident_reject_repeat: rules, events, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from kbsite.errors import InvalidInput, NotAllowed, StaleVersion
from kbsite.events import subscribe, unsubscribe
from postmortems.models import Incident, RepeatRejection, RootCauseCategory
from postmortems.services import incident_create, incident_reject_repeat, incident_update
from tests.postmortems.factories import (
    IncidentFactory,
    ServiceFactory,
    restricted_incident,
)


@pytest.fixture
def events():
    seen: list[tuple[str, dict]] = []
    handlers = {}
    for name in ("incident.created", "incident.updated", "incident.resolved"):
        handlers[name] = lambda name=name, **payload: seen.append((name, payload))
        subscribe(name, handlers[name])
    yield seen
    for name, handler in handlers.items():
        unsubscribe(name, handler)


@pytest.fixture
def started():
    return timezone.now() - timedelta(hours=2)


def snapshot(incident: Incident) -> dict:
    incident.refresh_from_db()
    return {
        field.attname: getattr(incident, field.attname) for field in Incident._meta.concrete_fields
    }


@pytest.mark.django_db(transaction=True)
def test_create_records_the_incident_and_emits_created(responder, payments_team, started, events):
    checkout = ServiceFactory(name="checkout", team=payments_team)
    category = RootCauseCategory.objects.get(slug="binary-push")

    incident = incident_create(
        user=responder,
        title="  Checkout returns 503  ",
        severity="SEV2",
        team=payments_team,
        started_at=started,
        summary="Checkout answered **503**.",
        services=[checkout],
        tag_names=["deploy", "Deploy", "rollback"],
        root_cause_category=category,
        responders=[responder],
    )

    assert incident.title == "Checkout returns 503"
    assert incident.severity == "sev2"
    assert incident.status == "open"
    assert incident.summary_html == "<p>Checkout answered <strong>503</strong>.</p>"
    assert incident.created_by == responder
    assert incident.version == 1
    assert [s.slug for s in incident.services.all()] == ["checkout"]
    assert sorted(t.slug for t in incident.tags.all()) == ["deploy", "rollback"]
    assert list(incident.responders.all()) == [responder]
    assert events == [("incident.created", {"incident_id": incident.pk})]


@pytest.mark.django_db
def test_create_with_resolved_status_sets_resolved_at_to_now(responder, payments_team, started):
    before = timezone.now()

    incident = incident_create(
        user=responder,
        title="Ledger lag",
        severity="sev3",
        team=payments_team,
        started_at=started,
        status="resolved",
    )

    assert incident.status == "resolved"
    assert incident.resolved_at >= before
    # Resolving also mitigated it: the skipped status takes the same time.
    assert incident.mitigated_at == incident.resolved_at


@pytest.mark.django_db
def test_create_derives_status_from_timestamps(responder, payments_team, started):
    incident = incident_create(
        user=responder,
        title="Ledger lag",
        severity="sev3",
        team=payments_team,
        started_at=started,
        mitigated_at=started + timedelta(minutes=20),
    )

    assert incident.status == "mitigated"


@pytest.mark.parametrize(
    ("times", "field", "message"),
    [
        (
            {"detected_at": -10},
            "detected_at",
            "The detected time (2026-01-01 09:50 UTC) is before the started time "
            "(2026-01-01 10:00 UTC).",
        ),
        (
            {"detected_at": 10, "mitigated_at": 5},
            "mitigated_at",
            "The mitigated time (2026-01-01 10:05 UTC) is before the detected time "
            "(2026-01-01 10:10 UTC).",
        ),
        (
            {"mitigated_at": 30, "resolved_at": 20},
            "resolved_at",
            "The resolved time (2026-01-01 10:20 UTC) is before the mitigated time "
            "(2026-01-01 10:30 UTC).",
        ),
    ],
)
@pytest.mark.django_db
def test_create_refuses_timestamps_out_of_order(responder, payments_team, times, field, message):
    start = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    given = {name: start + timedelta(minutes=minutes) for name, minutes in times.items()}

    with pytest.raises(InvalidInput) as refused:
        incident_create(
            user=responder,
            title="Out of order",
            severity="sev2",
            team=payments_team,
            started_at=start,
            **given,
        )

    assert refused.value.field == field
    assert refused.value.message == message
    assert Incident.objects.count() == 0


@pytest.mark.django_db
def test_create_refuses_a_start_in_the_future(responder, payments_team):
    with pytest.raises(InvalidInput) as refused:
        incident_create(
            user=responder,
            title="Tomorrow",
            severity="sev2",
            team=payments_team,
            started_at=timezone.now() + timedelta(hours=1),
        )

    assert (refused.value.field, refused.value.message) == (
        "started_at",
        "The start time is in the future.",
    )
    assert Incident.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "   "}, "title", "Add a title."),
        ({"title": "x" * 201}, "title", "The title is 201 characters long; at most 200 fit."),
        ({"severity": "sev9"}, "severity", "Choose a severity: one of sev1, sev2, sev3, sev4."),
        (
            {"visibility": "secret"},
            "visibility",
            "Choose a visibility: one of internal, restricted.",
        ),
        (
            {"summary": "s" * 20_001},
            "summary",
            "The summary is 20,001 characters long; at most 20,000 fit.",
        ),
        (
            {"external_url": "javascript:alert(1)"},
            "external_url",
            "Give the external link as an http or https address.",
        ),
        (
            {"tag_names": ["t" * 51]},
            "tags",
            "The tag 'tttttttttttttttttttt'… is longer than 50 characters.",
        ),
    ],
)
@pytest.mark.django_db
def test_create_refuses_bad_input_and_creates_nothing(
    responder, payments_team, started, changes, field, message
):
    arguments = {
        "user": responder,
        "title": "Checkout 503",
        "severity": "sev2",
        "team": payments_team,
        "started_at": started,
    }
    arguments.update(changes)

    with pytest.raises(InvalidInput) as refused:
        incident_create(**arguments)

    assert (refused.value.field, refused.value.message) == (field, message)
    assert Incident.objects.count() == 0


@pytest.mark.django_db
def test_create_needs_the_responder_role(manager, payments_team, started):
    with pytest.raises(NotAllowed) as refused:
        incident_create(
            user=manager, title="x", severity="sev2", team=payments_team, started_at=started
        )

    assert refused.value.message == "Only responders can open incidents."
    assert Incident.objects.count() == 0


@pytest.mark.django_db
def test_create_refuses_a_duplicate_external_id(responder, payments_team, started):
    first = incident_create(
        user=responder,
        title="Alert",
        severity="sev2",
        team=payments_team,
        started_at=started,
        external_source="pagerduty",
        external_id="PD-1",
    )

    with pytest.raises(InvalidInput) as refused:
        incident_create(
            user=responder,
            title="Alert again",
            severity="sev2",
            team=payments_team,
            started_at=started,
            external_source="pagerduty",
            external_id="PD-1",
        )

    assert refused.value.field == "external_id"
    assert refused.value.message == (
        f"Incident #{first.pk} already has the external id 'PD-1' from pagerduty."
    )
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_create_refuses_a_retired_category(responder, payments_team, started):
    category = RootCauseCategory.objects.get(slug="hardware")
    RootCauseCategory.objects.filter(pk=category.pk).update(is_active=False)
    category.refresh_from_db()

    with pytest.raises(InvalidInput) as refused:
        incident_create(
            user=responder,
            title="Disk",
            severity="sev3",
            team=payments_team,
            started_at=started,
            root_cause_category=category,
        )

    assert refused.value.message == "The category “Hardware” is retired; choose a current one."


@pytest.mark.django_db(transaction=True)
def test_update_moves_status_forward_and_stamps_the_time(responder, payments_team, events):
    incident = IncidentFactory(team=payments_team)
    before = timezone.now()

    updated = incident_update(
        incident=incident, user=responder, expected_version=1, status="RESOLVED"
    )

    assert updated.status == "resolved"
    assert updated.resolved_at >= before
    assert updated.mitigated_at == updated.resolved_at
    assert updated.version == 2
    assert events == [
        ("incident.updated", {"incident_id": incident.pk}),
        ("incident.resolved", {"incident_id": incident.pk}),
    ]


@pytest.mark.django_db
def test_update_with_resolved_at_alone_moves_the_status(responder, payments_team):
    incident = IncidentFactory(team=payments_team)
    resolved = incident.started_at + timedelta(minutes=45)

    updated = incident_update(
        incident=incident, user=responder, expected_version=1, resolved_at=resolved
    )

    assert (updated.status, updated.resolved_at) == ("resolved", resolved)


@pytest.mark.django_db
def test_update_refuses_to_move_status_back(responder, payments_team):
    incident = IncidentFactory(team=payments_team)
    incident = incident_update(
        incident=incident, user=responder, expected_version=1, status="resolved"
    )
    before = snapshot(incident)

    with pytest.raises(InvalidInput) as refused:
        incident_update(incident=incident, user=responder, expected_version=2, status="open")

    assert (refused.value.field, refused.value.message) == (
        "status",
        "The incident is resolved; its status cannot go back to open.",
    )
    assert snapshot(incident) == before


@pytest.mark.django_db
def test_update_refuses_out_of_order_times_naming_the_field(responder, payments_team):
    incident = IncidentFactory(team=payments_team)
    before = snapshot(incident)

    with pytest.raises(InvalidInput) as refused:
        incident_update(
            incident=incident,
            user=responder,
            expected_version=1,
            detected_at=incident.started_at - timedelta(minutes=1),
        )

    assert refused.value.field == "detected_at"
    assert refused.value.message.startswith("The detected time (")
    assert snapshot(incident) == before


@pytest.mark.django_db
def test_update_refuses_a_stale_version(responder, payments_team):
    incident = IncidentFactory(team=payments_team)
    incident_update(incident=incident, user=responder, expected_version=1, title="New title")
    before = snapshot(incident)

    with pytest.raises(StaleVersion) as refused:
        incident_update(incident=incident, user=responder, expected_version=1, title="Mine")

    assert refused.value.message == (
        "Someone saved version 2 of this incident after your version 1; review their changes "
        "and try again."
    )
    assert refused.value.current.title == "New title"
    assert snapshot(incident) == before


@pytest.mark.django_db
def test_update_refuses_unknown_fields(responder, payments_team):
    incident = IncidentFactory(team=payments_team)

    with pytest.raises(InvalidInput) as refused:
        incident_update(incident=incident, user=responder, expected_version=1, version=9)

    assert (refused.value.field, refused.value.message) == ("version", "Unknown field: version.")


@pytest.mark.django_db
def test_update_by_someone_not_named_on_it_is_refused(outsider, payments_team):
    incident = IncidentFactory(team=payments_team)
    before = snapshot(incident)

    with pytest.raises(NotAllowed) as refused:
        incident_update(incident=incident, user=outsider, expected_version=1, title="Mine")

    assert refused.value.message == (
        "Only the incident's commander, its responders and members of its team can change "
        "this incident."
    )
    assert snapshot(incident) == before


@pytest.mark.django_db
def test_update_of_a_restricted_incident_by_an_outsider_is_not_allowed(outsider, payments_team):
    incident = restricted_incident(team=payments_team)

    with pytest.raises(NotAllowed) as refused:
        incident_update(incident=incident, user=outsider, expected_version=1, title="Mine")

    assert refused.value.message == "You do not have access to this incident."


@pytest.mark.django_db
def test_repeat_of_must_be_earlier_visible_and_not_itself(responder, payments_team, search_team):
    incident = IncidentFactory(team=payments_team)
    later = IncidentFactory(team=payments_team, started_at=incident.started_at + timedelta(hours=1))
    hidden = restricted_incident(
        team=search_team, started_at=incident.started_at - timedelta(days=3)
    )
    cases = [
        (incident, "An incident cannot repeat itself."),
        (
            later,
            f"Incident #{later.pk} started after this one; only an earlier incident can be "
            "repeated.",
        ),
        (hidden, "That earlier incident was not found."),
    ]
    for earlier, message in cases:
        with pytest.raises(InvalidInput) as refused:
            incident_update(
                incident=incident, user=responder, expected_version=1, repeat_of=earlier
            )
        assert (refused.value.field, refused.value.message) == ("repeat_of", message)
    incident.refresh_from_db()
    assert (incident.repeat_of_id, incident.version) == (None, 1)


@pytest.mark.django_db
def test_reject_repeat_records_the_pair_and_clears_repeat_of(responder, payments_team):
    earlier = IncidentFactory(team=payments_team, started_at=timezone.now() - timedelta(days=9))
    incident = IncidentFactory(team=payments_team)
    incident = incident_update(
        incident=incident, user=responder, expected_version=1, repeat_of=earlier
    )
    assert incident.repeat_of == earlier

    rejection = incident_reject_repeat(incident=incident, user=responder, earlier=earlier)
    again = incident_reject_repeat(incident=incident, user=responder, earlier=earlier)

    incident.refresh_from_db()
    assert rejection == again
    assert RepeatRejection.objects.filter(incident=incident, earlier=earlier).count() == 1
    assert (incident.repeat_of_id, incident.version) == (None, 3)


def test_rejecting_a_rule_match_emits_updated_once(
    responder, payments_team, events, django_capture_on_commit_callbacks
):
    # No repeat_of to clear: the rejection alone can change whether the incident is a repeat
    # by the rule, so the KPI jobs must hear of it; rejecting the pair again changes nothing.
    earlier = IncidentFactory(team=payments_team, started_at=timezone.now() - timedelta(days=9))
    incident = IncidentFactory(team=payments_team)
    with django_capture_on_commit_callbacks(execute=True):
        incident_reject_repeat(incident=incident, user=responder, earlier=earlier)
        incident_reject_repeat(incident=incident, user=responder, earlier=earlier)
    assert events == [("incident.updated", {"incident_id": incident.pk})]
