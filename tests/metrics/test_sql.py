"""SQL pieces the KPI jobs share."""

from __future__ import annotations

import pytest

from metrics.sql import ids_subquery
from postmortems.models import Incident
from tests.postmortems.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def test_an_id_list_is_one_parameter_whatever_its_length():
    made = [IncidentFactory().pk for _ in range(3)]
    # Past SQLite's limit of bound parameters (250,000 in this build, 32,766 by default), which
    # a first build of the facts of a large history reaches with one parameter per id.
    ids = [*range(10_000_000, 10_300_000), *made]

    found = Incident.objects.filter(pk__in=ids_subquery(ids)).values_list("pk", flat=True)

    assert sorted(found) == sorted(made)
    assert Incident.objects.filter(pk__in=ids_subquery([])).count() == 0
