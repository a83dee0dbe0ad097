"""One transaction per imported file: all of a file or none of it, and nothing at all in a dry
run, which does the same work (every check of every service) and then rolls it back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction


@contextmanager
def file_transaction(*, dry_run: bool) -> Iterator[None]:
    """Commit what the block wrote, unless it raised or this is a dry run. Events and
    notifications wait for the commit (`transaction.on_commit`), so a dry run sends none."""
    with transaction.atomic():
        yield
        if dry_run:
            transaction.set_rollback(True)
