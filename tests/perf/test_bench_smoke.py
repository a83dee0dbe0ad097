"""The search benchmark at small N, so CI proves it runs (the numbers are for people)."""

from __future__ import annotations

import io

import pytest

from tests.perf import bench_search


@pytest.mark.postgres
@pytest.mark.django_db
def test_search_benchmark_runs_every_query_class():
    out = io.StringIO()
    rows = bench_search.run(articles=500, runs=3, out=out)
    text = out.getvalue()
    assert [row["class"] for row in rows] == [label for label, _ in bench_search.QUERY_CLASSES]
    for label, _ in bench_search.QUERY_CLASSES:
        assert label in text
    assert "500 articles on postgresql" in text
    hits = {row["class"]: row["hits"] for row in rows}
    assert hits["term in ~70%"] == 20
    assert hits["plain language"] == 20
