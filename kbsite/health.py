"""Checks of the parts kbsite depends on, shared by /healthz and start-up checks."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import DatabaseError, connection


@dataclass(frozen=True)
class Check:
    name: str
    configured: bool
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def check_database() -> Check:
    vendor = connection.vendor
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        first_line = (
            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        )
        return Check("database", True, False, f"{vendor}: {first_line}")
    return Check("database", True, True, vendor)


def check_broker() -> Check:
    if not settings.REDIS_URL:
        return Check("broker", False, True, "not configured: tasks run in-process")
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1
        )
        client.ping()
    except (redis.RedisError, OSError) as error:
        return Check("broker", True, False, f"redis: {error}")
    return Check("broker", True, True, "redis")


def run_checks() -> list[Check]:
    return [check_database(), check_broker()]
