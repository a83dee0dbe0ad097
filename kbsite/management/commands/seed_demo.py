from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kbsite import events
from kbsite.demo import registered_seeders
from kbsite.demo_catalog import sign_in_lines
from kbsite.services import emails_held_back


class Command(BaseCommand):
    help = (
        "Create demo teams, services, people and content. Idempotent: a second run changes nothing."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--quiet-sign-ins", action="store_true", help="Do not print the demo sign-ins."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Events (KPI recomputes, webhooks) would fire once per demo row; the data is loaded
        # quietly and whoever needs a summary (the KPI recompute in `make run`) runs after.
        with events.suppressed(), emails_held_back():
            for seeder in registered_seeders():
                seeder.run(lambda line: self.stdout.write(f"seed_demo: {line}"))
        if not options["quiet_sign_ins"]:
            self.stdout.write(self.style.SUCCESS("Demo sign-ins (demo instances only):"))
            for line in sign_in_lines():
                self.stdout.write(line)
