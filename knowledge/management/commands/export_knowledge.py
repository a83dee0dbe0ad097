"""Write the knowledge base to a zip of markdown files, one per article (`<type>/<slug>.md`).

    manage.py export_knowledge OUT.zip [--user USERNAME]

Without --user every article is exported (the command runs with the server's rights); with it,
only what that person may read. `manage.py import_markdown OUT.zip --user ...` reads it back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from knowledge.transfer.export import knowledge_export_zip


class Command(BaseCommand):
    help = "Export the knowledge base as a zip of markdown files with front matter."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("out", type=Path, help="The zip file to write.")
        parser.add_argument("--user", help="Export only what this person may read.")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        if out.suffix.lower() != ".zip":
            raise CommandError(f"{out} must end in .zip.")
        if not out.parent.is_dir():
            raise CommandError(f"The folder {out.parent} does not exist.")
        user = None
        if options.get("user"):
            user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {options['user']!r}.")
        partial = out.with_name(out.name + ".partial")
        with partial.open("wb") as stream:
            count = knowledge_export_zip(user=user, stream=stream)
        partial.replace(out)  # a reader never sees half a zip
        self.stdout.write(f"export_knowledge: {count} articles written to {out}.")
