"""A real Celery worker process on Redis, for the integration tests (marker `worker`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def worker_environment(**extra: str) -> dict[str, str]:
    """The worker talks to this test run's database and Redis database."""
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="kbsite.settings",
        DATABASE_URL=url,
        REDIS_URL=settings.REDIS_URL,
        SECRET_KEY=settings.SECRET_KEY,
        KBSITE_VAR_DIR=str(settings.VAR_DIR),
        **extra,
    )
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


def start_worker(*, pool: str = "prefork", **extra_env: str) -> subprocess.Popen[bytes]:
    """`pool="solo"` runs tasks in the main process, so killing it kills the task too."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "kbsite",
        "worker",
        "--loglevel",
        "WARNING",
        "--concurrency",
        "1",
        "--pool",
        pool,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=worker_environment(**extra_env))


def stop_worker(process: subprocess.Popen[bytes], *, hard: bool = False) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_worker(**extra_env: str) -> Iterator[subprocess.Popen[bytes]]:
    process = start_worker(**extra_env)
    try:
        yield process
    finally:
        stop_worker(process)


def wait_for(condition, *, timeout: float = 30, interval: float = 0.2) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def purge_queue() -> None:
    import redis

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
