"""Strict readers for configuration from environment variables.

Every setting comes from the environment (see `.env.example`). A value that cannot be parsed
stops start-up with one line naming the variable and what it should look like, instead of a
traceback deep inside Django.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use true or false.")


def env_int(name: str, *, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def env_list(name: str, *, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_config(url: str, *, conn_max_age: int) -> dict[str, object]:
    """Turn DATABASE_URL into Django's DATABASES entry, refusing anything but PostgreSQL/SQLite."""
    import dj_database_url

    scheme = urlsplit(url).scheme
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL has scheme {scheme or '(none)'!r}; use "
            "postgres://USER:PASSWORD@HOST:5432/NAME or sqlite:////absolute/path.sqlite3."
        )
    try:
        config = dict(
            dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True)
        )
    except ValueError as error:
        raise ImproperlyConfigured(
            f"DATABASE_URL is malformed ({error}); use postgres://USER:PASSWORD@HOST:5432/NAME."
        ) from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(
            "DATABASE_URL names no database; use postgres://USER:PASSWORD@HOST:5432/NAME."
        )
    return config


def redis_url(name: str) -> str:
    url = env_str(name)
    if url and urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(
            f"{name} must look like redis://HOST:6379/0 (got scheme {urlsplit(url).scheme!r})."
        )
    return url
