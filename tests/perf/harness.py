"""What the benchmark scripts share: Django set up for timing, and percentiles."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def setup_django(*, lift_api_rate_limit: bool = False) -> None:
    """Set Django up so that django.test.Client can time requests as production serves them.

    Django's setup_test_environment() is deliberately not used: it instruments every template
    render to record its context for test assertions, which doubles the cost of a page full of
    form widgets and would put that cost into the figures.
    """
    root = Path(__file__).resolve().parents[2]
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    if lift_api_rate_limit:
        # One person asks thousands of times a minute here: lift the API's per-person limit
        # (the limiter still counts each request, as in production).
        os.environ.setdefault("API_RATE_LIMIT", "1000000")
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client's host


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile: `fraction` 0.95 is p95."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]
