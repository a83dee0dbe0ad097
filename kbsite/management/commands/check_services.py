from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kbsite.health import run_checks

ADVICE = {
    "database": "check DATABASE_URL and that PostgreSQL is running and accepts this user",
    "broker": "check REDIS_URL and that Redis is running (or unset it to run jobs in-process)",
}


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class Command(BaseCommand):
    help = "Check that the database and the broker answer; one line per problem, exit 1 if any."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = []
        for check in run_checks():
            if check.ok:
                self.stdout.write(f"{check.name}: ok ({check.detail})")
                continue
            setting = "DATABASE_URL" if check.name == "database" else "REDIS_URL"
            value = getattr(settings, setting, "") or "(embedded SQLite)"
            problems.append(
                f"cannot reach the {check.name} at {setting}={_without_password(value)}: "
                f"{check.detail} — {ADVICE[check.name]}."
            )
        if problems:
            raise CommandError("\n".join(problems))
