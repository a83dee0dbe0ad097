"""docker-compose.yml and the Dockerfile cannot run here (no Docker engine): check their shape."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_production_services():
    assert set(compose()["services"]) == {"postgres", "redis", "web", "worker", "beat"}


def test_web_migrates_then_serves_with_gunicorn():
    web = compose()["services"]["web"]
    command = " ".join(web["command"]) if isinstance(web["command"], list) else web["command"]
    assert command.index("migrate") < command.index("gunicorn kbsite.wsgi")
    assert "healthcheck" in web
    assert web["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_worker_and_beat_run_celery():
    services = compose()["services"]
    assert "celery -A kbsite worker" in " ".join(services["worker"]["command"])
    assert "celery -A kbsite beat" in " ".join(services["beat"]["command"])


def test_configuration_comes_only_from_the_environment():
    for name in ("web", "worker", "beat"):
        service = compose()["services"][name]
        assert service["env_file"] == [".env"] or "environment" in service
        environment = service.get("environment", {})
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["REDIS_URL"].startswith("redis://")


def test_data_lives_in_named_volumes():
    data = compose()
    assert {"postgres-data", "media"} <= set(data["volumes"])
    assert "postgres-data:/var/lib/postgresql/data" in data["services"]["postgres"]["volumes"]


def test_dockerfile_installs_the_lock_and_runs_unprivileged():
    text = (ROOT / "Dockerfile").read_text()
    assert "requirements.lock" in text
    assert "collectstatic" in text
    assert "\nUSER " in text
