"""postmortem_save_sections under real concurrency (PostgreSQL row locks, two threads)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from kbsite.errors import StaleVersion
from postmortems.models import Postmortem
from postmortems.services import postmortem_save_sections
from tests.postmortems.factories import IncidentFactory, PostmortemFactory


def save_together(postmortem_pk: int, saves: list[tuple[object, dict[str, str]]]) -> list:
    """Run each (user, sections) save from version 1 in its own thread, started together."""
    barrier = threading.Barrier(len(saves))
    outcomes: list = [None] * len(saves)

    def run(index: int, user, sections) -> None:
        try:
            postmortem = Postmortem.objects.select_related("incident").get(pk=postmortem_pk)
            barrier.wait(timeout=10)
            outcomes[index] = postmortem_save_sections(
                postmortem=postmortem, user=user, sections=sections, expected_version=1
            )
        except Exception as error:  # recorded for the assertions
            outcomes[index] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, user, sections))
        for index, (user, sections) in enumerate(saves)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.fixture
def setup(payments_team, responder, reviewer):
    incident = IncidentFactory(team=payments_team)
    return PostmortemFactory(incident=incident), responder, reviewer


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_saving_different_sections_are_merged(setup):
    postmortem, rita, rob = setup
    assert connection.vendor == "postgresql"

    outcomes = save_together(
        postmortem.pk, [(rita, {"summary": "Rita's summary"}), (rob, {"impact": "Rob's impact"})]
    )

    assert all(isinstance(outcome, Postmortem) for outcome in outcomes), outcomes
    postmortem.refresh_from_db()
    assert postmortem.version == 3
    assert postmortem.sections == {"summary": "Rita's summary", "impact": "Rob's impact"}
    assert sorted(postmortem.revisions.values_list("number", flat=True)) == [1, 2, 3]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_saving_the_same_section_one_is_stale(setup):
    postmortem, rita, rob = setup

    outcomes = save_together(
        postmortem.pk, [(rita, {"summary": "Rita's summary"}), (rob, {"summary": "Rob's"})]
    )

    saved = [outcome for outcome in outcomes if isinstance(outcome, Postmortem)]
    stale = [outcome for outcome in outcomes if isinstance(outcome, StaleVersion)]
    assert (len(saved), len(stale)) == (1, 1), outcomes
    assert stale[0].message == (
        "Someone else changed “Summary” after your version 1; review their text and apply your "
        "changes again."
    )
    postmortem.refresh_from_db()
    assert postmortem.version == 2
    assert postmortem.sections == saved[0].sections
    assert stale[0].current.sections == saved[0].sections
