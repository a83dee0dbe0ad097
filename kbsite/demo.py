"""Demo data: `manage.py seed_demo` runs every registered seeder, lowest order first.

Each app registers its own seeder in `AppConfig.ready()`, so the catalog never imports the apps
built on it. Seeders must be idempotent: a second run changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Seeder = Callable[[Callable[[str], None]], None]


@dataclass(frozen=True)
class RegisteredSeeder:
    order: int
    name: str
    run: Seeder


_seeders: dict[str, RegisteredSeeder] = {}


def register_seeder(*, name: str, order: int, run: Seeder) -> None:
    _seeders[name] = RegisteredSeeder(order=order, name=name, run=run)


def registered_seeders() -> list[RegisteredSeeder]:
    return sorted(_seeders.values(), key=lambda seeder: (seeder.order, seeder.name))
