"""The incidents benchmark at small N, so CI proves it runs (the numbers are for people)."""

from __future__ import annotations

import io

import pytest

from postmortems.models import ActionItem, Finding, Incident, Postmortem, TimelineEntry
from tests.perf import bench_incidents


@pytest.mark.postgres
@pytest.mark.django_db
def test_incidents_benchmark_times_every_target():
    out = io.StringIO()
    rows = bench_incidents.run(incidents=200, runs=3, out=out)
    text = out.getvalue()
    assert Incident.objects.filter(external_source="synthetic").count() == 200
    assert Postmortem.objects.exists() and Finding.objects.exists()
    assert TimelineEntry.objects.exists() and ActionItem.objects.exists()
    labels = [row["target"] for row in rows]
    assert labels[-4:] == [
        "API: incident list",
        "API: incident list, filtered",
        "API: incident",
        "API: postmortem",
    ]
    assert {"page: incident list", "page: incident", "page: postmortem editor"} <= set(labels)
    for row in rows:
        assert row["target"] in text
        assert 0 < row["p50"] <= row["p95"] <= row["max"]
    assert "200 incidents" in text and "on postgresql" in text
