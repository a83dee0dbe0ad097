"""kbsite: project settings, URLs, the Celery app and the shared catalog (teams, services, tags)."""

from kbsite.celery import app as celery_app

__all__ = ["celery_app"]
