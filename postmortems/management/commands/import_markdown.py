"""Import postmortems and knowledge articles from markdown files with front matter.

    manage.py import_markdown PATH [PATH ...] --user USERNAME [--dry-run]
        [--unknown-headings append|refuse]

PATH is a .md file, a directory (walked for *.md) or a .zip. Each file is imported on its own,
all of it or nothing; a file whose front matter says `kind: article` becomes a knowledge
article, any other a postmortem. Prints a report per file; exits with 1 when a file was refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from kbsite.progress import ProgressBar
from knowledge.transfer.sources import Limits, files_from_paths
from postmortems.transfer.importer import import_files
from postmortems.transfer.reading import UnknownHeadings

# The operator chooses what the command reads, so it takes larger archives than an upload (a
# whole knowledge base export); the per-file limit and the zip-bomb checks still hold.
COMMAND_MAX_FILES = 20_000
COMMAND_MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024


class _Unterminated:
    """The command's stderr for the progress bar, which ends its own lines (a terminal gets
    carriage returns, not a line per update)."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, ending="")

    def flush(self) -> None:
        self.wrapper.flush()

    def isatty(self) -> bool:
        return self.wrapper.isatty()


class Command(BaseCommand):
    help = (
        "Import postmortems (and knowledge articles, `kind: article`) from markdown files with "
        "front matter: files, directories of *.md, or zip files."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help=".md files, directories, .zip")
        parser.add_argument(
            "--user", required=True, help="Import as this person (their permissions apply)."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check every file and report what would be created, writing nothing.",
        )
        parser.add_argument(
            "--unknown-headings",
            choices=UnknownHeadings.choices,
            default=UnknownHeadings.APPEND,
            help="A heading that maps to no section: append its text to the section above "
            "(default) or refuse the file.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {options['user']!r}.")
        limits = Limits(
            max_file_bytes=settings.IMPORT_MAX_FILE_BYTES,
            max_total_bytes=COMMAND_MAX_TOTAL_BYTES,
            max_files=COMMAND_MAX_FILES,
        )
        sources = files_from_paths(options["paths"], limits)
        if not sources:
            raise CommandError("No markdown files found in the paths given.")
        show = options.get("verbosity", 1) > 0
        stream = cast(TextIO, _Unterminated(self.stderr))
        bar = ProgressBar(total=len(sources), label="import_markdown", stream=stream)
        report = import_files(
            user=user,
            sources=sources,
            dry_run=options["dry_run"],
            unknown_headings=options["unknown_headings"],
            progress=bar.update if show else None,
        )
        if show:
            bar.finish()
        for line in report.lines():
            self.stdout.write(line)
        if report.any_refused:
            raise CommandError(
                f"{sum(1 for result in report.files if result.refused)} file(s) refused; "
                "see the report above.",
                returncode=1,
            )
