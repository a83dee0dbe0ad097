"""The KPI benchmark at small N, so CI proves it runs (the numbers are for people).

It is a script that migrates and seeds a database of its own, so it runs here as one, on an
SQLite file of its own, the way a person runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("bench_kpis.py")


def test_kpi_benchmark_reports_every_figure(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bench.sqlite3'}",
        "SECRET_KEY": "kpi-benchmark-smoke",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    env.pop("REDIS_URL", None)  # jobs in-process, like the embedded instance

    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert "300 incidents on sqlite" in lines
    for label in (
        "incident facts refreshed before the runs: ",
        "dashboard secondary figures stored by the same job: ",
        "full recompute (13 months × every scope)",
        "one-month recompute (",
        "one new incident: ",
        "similar incidents p50 / p95",
        "similar, as the busiest responder p50 / p95",
        "KPI API p50 / p95",
        "dashboard page p50 / p95",
    ):
        assert any(line.startswith(label) for line in lines), (label, done.stdout)
