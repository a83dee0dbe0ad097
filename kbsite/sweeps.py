"""Periodic sweeps that tell people about rows once: read in id batches, claim each row with a
conditional UPDATE, act only on what this run claimed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import models, transaction

Row = TypeVar("Row", bound=models.Model)

BATCH_SIZE = 200


def sweep_claiming(
    *,
    model: type[Row],
    pending: models.Q,
    claim: dict[str, Any],
    act: Callable[[Row], None],
    select_related: Sequence[str] = (),
    batch_size: int = BATCH_SIZE,
) -> int:
    """Call `act` once for every row of `model` matching `pending`; returns how many.

    Each row is claimed inside its own transaction by `UPDATE … SET claim WHERE pending AND
    pk = row` before `act` runs, and `claim` must make the row stop matching `pending`: two runs
    at once, or a rerun, can then never act on a row twice. Rows are read in pk order,
    `batch_size` at a time, so a long backlog holds no long transaction.
    """
    acted = 0
    last_pk: Any = None
    while True:
        rows = model._default_manager.filter(pending)
        if last_pk is not None:
            rows = rows.filter(pk__gt=last_pk)
        batch = list(rows.select_related(*select_related).order_by("pk")[:batch_size])
        if not batch:
            return acted
        for row in batch:
            with transaction.atomic():
                claimed = model._default_manager.filter(pending, pk=row.pk).update(**claim)
                if claimed:
                    act(row)
                    acted += 1
        last_pk = batch[-1].pk
