from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kbsite.models import ApiToken
from kbsite.services import CatalogError, api_token_issue


class Command(BaseCommand):
    help = "Create an API token for a user and print its key (shown only this once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What the token is for.")
        parser.add_argument(
            "--scope", choices=ApiToken.Scope.values, default=ApiToken.Scope.READ_WRITE
        )
        parser.add_argument(
            "--expires-in-days", type=int, default=None, help="Expire after N days (default never)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        days = options["expires_in_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-in-days must be 1 or more.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            issued = api_token_issue(
                user=user, name=options["name"], scope=options["scope"], expires_at=expires_at
            )
        except CatalogError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(issued.key)
