"""Shared fixtures: named people for permission tests, and the STRICT no-skip rule."""

from __future__ import annotations

import os

import pytest

from tests.kbsite.factories import TeamFactory, UserFactory

STRICT = os.environ.get("STRICT", "") == "1"


@pytest.fixture(autouse=True)
def empty_cache():
    """Rate-limit counters and coalescing marks live in the cache: each test starts clean."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def payments_team(db):
    return TeamFactory(name="Payments", slug="payments")


@pytest.fixture
def search_team(db):
    return TeamFactory(name="Search", slug="search")


@pytest.fixture
def responder(payments_team):
    return UserFactory(username="rita", roles=["responder"], teams=[payments_team])


@pytest.fixture
def reviewer(payments_team):
    return UserFactory(username="rob", roles=["reviewer"], teams=[payments_team])


@pytest.fixture
def editor(db):
    return UserFactory(username="erin", roles=["editor"])


@pytest.fixture
def manager(db):
    return UserFactory(username="maya", roles=["manager"])


@pytest.fixture
def admin_user(db):
    return UserFactory(username="ada", roles=["admin"], is_staff=True, is_superuser=True)


@pytest.fixture
def outsider(search_team):
    """Signed in, but in another team and named on nothing: restricted things must not exist."""
    return UserFactory(username="oscar", roles=["responder"], teams=[search_team])


def pytest_sessionfinish(session, exitstatus):
    """With STRICT=1 (the PostgreSQL + Redis pass of CI) a skipped test fails the run."""
    if not STRICT:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and session.exitstatus == 0:
        reporter.write_line(
            f"STRICT=1: {len(skipped)} test(s) skipped; a skip fails this pass.", red=True
        )
        session.exitstatus = 1
