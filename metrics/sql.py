"""SQL pieces the KPI jobs share (metrics.bulk groups facts, metrics.facts computes them): the
dialect's spelling of a few things, and temporary tables that live for one computation."""

from __future__ import annotations

import itertools
import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models.expressions import RawSQL

from metrics.kpis import _epoch

_table_numbers = itertools.count()


def tune_for_bulk() -> None:
    """Inside the caller's transaction, set PostgreSQL up for the jobs' one-off statements:
    its JIT compiles them for longer than they run, and they hash and sort a few hundred
    thousand rows, which the default work_mem would spill to disk."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '64MB'")


def db_time(moment: datetime) -> Any:
    """A datetime as this database compares it with stored values."""
    return connection.ops.adapt_datetimefield_value(moment)


def month_sql(column: str) -> str:
    """The UTC calendar month of a timestamp column, as 'YYYY-MM'."""
    if connection.vendor == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"
    return f"strftime('%%Y-%%m', {column})"


def month_index_sql(column: str) -> str:
    """The UTC calendar month of a timestamp column as year * 12 + month - 1."""
    if connection.vendor == "postgresql":
        parts = [
            f"CAST(EXTRACT({part} FROM {column} AT TIME ZONE 'UTC') AS integer)"
            for part in ("YEAR", "MONTH")
        ]
    else:
        parts = [f"CAST(strftime('%%{part}', {column}) AS integer)" for part in ("Y", "m")]
    return f"({parts[0]} * 12 + {parts[1]} - 1)"


def services_of(incident_column: str) -> str:
    """`= ANY(ARRAY(...))` on PostgreSQL, so the list can drive an index; IN on SQLite."""
    services = (
        "SELECT service_id FROM postmortems_incident_services "
        f"WHERE incident_id = {incident_column}"
    )
    if connection.vendor == "postgresql":
        return f"= ANY(ARRAY({services}))"
    return f"IN ({services})"


def ids_subquery(ids: list[int]) -> RawSQL:
    """`ids` as a subquery for `pk__in`, bound as one parameter: an array on PostgreSQL, a JSON
    list on SQLite. One parameter per id would cost the driver tens of milliseconds to splice
    for a large month, and SQLite refuses statements past its limit of bound parameters."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [ids])
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(ids)])


@contextmanager
def temporary_table(select_sql: str, params: Any, *, prefix: str = "kpi_facts") -> Iterator[str]:
    """A temporary table holding `select_sql`'s rows, dropped on the way out."""
    name = f"{prefix}_{next(_table_numbers)}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {name} AS {select_sql}", params)
        try:
            yield name
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")


@contextmanager
def failure_modes_table(
    *, start: datetime, end: datetime, categories: Collection[int]
) -> Iterator[str]:
    """(service, category, start time, incident) of every incident of `categories` started in
    [start, end), indexed for "an incident of this service and category started between t1
    and t2" — the question the repeat rule asks once per incident. Without it each lookup walks
    every incident of the category; with it, it is one short index range."""
    wanted = ", ".join(f"%(category_{n})s" for n in range(len(categories))) or "NULL"
    select = (
        "SELECT ps.service_id AS service_id, i.root_cause_category_id AS category_id, "
        f"{_epoch('i.started_at')} AS started, i.id AS incident_id "
        "FROM postmortems_incident i "
        "JOIN postmortems_incident_services ps ON ps.incident_id = i.id "
        f"WHERE i.root_cause_category_id IN ({wanted}) "
        "AND i.started_at >= %(start)s AND i.started_at < %(end)s"
    )
    params = {"start": db_time(start), "end": db_time(end)}
    params.update({f"category_{n}": pk for n, pk in enumerate(sorted(categories))})
    with temporary_table(select, params, prefix="kpi_modes") as name:
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE INDEX {name}_lookup ON {name} (service_id, category_id, started)"
            )
            # Temporary tables have no statistics until analysed; without them PostgreSQL plans
            # a sequential scan of this table per incident.
            cursor.execute(f"ANALYZE {name}")
        yield name
