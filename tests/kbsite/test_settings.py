"""Settings come from the environment, and bad configuration stops start-up with one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from kbsite.env import database_config, env_bool, env_int, redis_url

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    clean.pop("SECRET_KEY", None)
    clean["DJANGO_SETTINGS_MODULE"] = "kbsite.settings"
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_secret_key_outside_debug_stops_with_one_line(tmp_path):
    result = run_manage("check", env={"KBSITE_VAR_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "kbsite: configuration error: SECRET_KEY is not set: export a long random SECRET_KEY "
        "(or DEBUG=true for local work)."
    ]


def test_malformed_database_url_names_the_setting(tmp_path):
    result = run_manage(
        "check",
        env={
            "SECRET_KEY": "x" * 60,
            "DATABASE_URL": "mysql://db/kb",
            "KBSITE_VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "DATABASE_URL has scheme 'mysql'" in result.stderr


def test_unreachable_database_is_one_clear_line(tmp_path):
    result = run_manage(
        "check_services",
        env={
            "SECRET_KEY": "x" * 60,
            "DATABASE_URL": "postgres://kb:secret@127.0.0.1:1/kb",
            "KBSITE_VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "CommandError: cannot reach the database at DATABASE_URL=postgres://kb:***@127.0.0.1:1/kb"
    )
    assert "secret" not in result.stderr


def test_unreachable_redis_is_one_clear_line(tmp_path):
    result = run_manage(
        "check_services",
        env={
            "SECRET_KEY": "x" * 60,
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "KBSITE_VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 1
    assert "cannot reach the broker at REDIS_URL=redis://127.0.0.1:1/0" in result.stderr
    assert "database: ok (sqlite)" in result.stdout


def test_check_deploy_reports_nothing_in_a_production_like_environment(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "SECRET_KEY": "a-long-random-production-secret-" + "k" * 40,
            "ALLOWED_HOSTS": "kb.example.com",
            "CSRF_TRUSTED_ORIGINS": "https://kb.example.com",
            "HTTPS": "true",
            "SECURE_HSTS_PRELOAD": "true",
            "KBSITE_VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_debug_is_off_unless_asked(tmp_path):
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DEBUG)",
        env={"SECRET_KEY": "x" * 60, "KBSITE_VAR_DIR": str(tmp_path)},
    )
    assert result.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("1", True), ("off", False), ("", False), ("No", False)]
)
def test_env_bool_parses_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", default=not expected) is expected


def test_env_bool_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG='maybe' is not a boolean"):
        env_bool("FLAG", default=False)


def test_env_int_refuses_words_and_small_values(monkeypatch):
    monkeypatch.setenv("N", "ten")
    with pytest.raises(ImproperlyConfigured, match="N='ten' is not a whole number"):
        env_int("N", default=1)
    monkeypatch.setenv("N", "0")
    with pytest.raises(ImproperlyConfigured, match="must be at least 1"):
        env_int("N", default=1, minimum=1)


def test_database_url_parses_postgres():
    config = database_config("postgres://kb:pw@db.internal:5433/kbsite", conn_max_age=60)
    assert (config["ENGINE"], config["NAME"], config["HOST"], config["PORT"]) == (
        "django.db.backends.postgresql",
        "kbsite",
        "db.internal",
        5433,
    )


def test_database_url_without_a_name_is_refused():
    with pytest.raises(ImproperlyConfigured, match="names no database"):
        database_config("postgres://kb:pw@db.internal:5432", conn_max_age=0)


def test_redis_url_must_be_redis(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "http://cache:6379")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL must look like redis://"):
        redis_url("REDIS_URL")


def test_env_example_lists_every_variable_the_settings_read():
    import re

    read = set(re.findall(r'env_\w+\("([A-Z_]+)"', (ROOT / "kbsite/settings.py").read_text()))
    read |= set(re.findall(r'redis_url\("([A-Z_]+)"\)', (ROOT / "kbsite/settings.py").read_text()))
    listed = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read - listed == set()
