from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kbsite.errors import InvalidInput
from kbsite.progress import ProgressBar
from metrics.periods import parse_month
from metrics.secondary_store import secondary_snapshots_store
from metrics.services import kpi_period_recompute, kpi_recent_recompute


class Command(BaseCommand):
    help = "Recompute KPI snapshots: one month (--period YYYY-MM) or the last 13 months."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--period", help="A month as YYYY-MM; default the last 13 months.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["period"]:
            try:
                period = parse_month(options["period"])
            except InvalidInput as error:
                raise CommandError(str(error)) from None
            bar = ProgressBar(total=1, label=f"KPIs {period.label}")
            count = kpi_period_recompute(period=period).figures
            secondary_snapshots_store(periods=[period])
            bar.update(1)
            bar.finish()
        else:
            bar = ProgressBar(total=1, label="KPIs, last 13 months")

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done)

            count = kpi_recent_recompute(progress=progress)
            bar.finish()
        self.stdout.write(f"recomputed {count} figures")
