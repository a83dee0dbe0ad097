"""Helpers shared by the postmortems API tests: requests, error bodies, snapshots."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.test import Client

from postmortems.models import (
    ActionItem,
    ArticleUse,
    Finding,
    Incident,
    Postmortem,
    PostmortemRevision,
    Review,
    TimelineEntry,
)

INCIDENTS = "/api/v1/incidents/"
POSTMORTEMS = "/api/v1/postmortems/"
TEMPLATES = "/api/v1/postmortem-templates/"

NOT_FOUND = {
    "error": {
        "code": "not_found",
        "message": "Not found, or you do not have access to it.",
        "fields": {},
    }
}
VERSION_REQUIRED = {
    "error": {
        "code": "version_required",
        "message": "Send the version you edited, as `version` in the body or an If-Match header.",
        "fields": {},
    }
}


def invalid(**fields: list[str]) -> dict[str, Any]:
    return {
        "error": {
            "code": "invalid",
            "message": "Some fields are invalid: see `fields`.",
            "fields": fields,
        }
    }


def domain_invalid(field: str, message: str) -> dict[str, Any]:
    """A service's InvalidInput: the message is the error's, and it names one field."""
    return {"error": {"code": "invalid", "message": message, "fields": {field: [message]}}}


def forbidden(message: str) -> dict[str, Any]:
    return {"error": {"code": "permission_denied", "message": message, "fields": {}}}


def conflict(message: str, reasons: list[str]) -> dict[str, Any]:
    return {"error": {"code": "conflict", "message": message, "fields": {}, "reasons": reasons}}


def web(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def signed_in(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def post(client: Client, path: str, data: Any = None, **extra: Any) -> Any:
    return client.post(path, json.dumps(data or {}), content_type="application/json", **extra)


def patch(client: Client, path: str, data: Any, **extra: Any) -> Any:
    return client.patch(path, json.dumps(data), content_type="application/json", **extra)


def _row(instance: models.Model) -> dict[str, Any]:
    instance = type(instance).objects.get(pk=instance.pk)
    return {
        field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields
    }


def incident_snapshot(incident: Incident) -> dict[str, Any]:
    """Every column and relation the API can change, to assert a refusal changed nothing."""
    row = _row(incident)
    incident = Incident.objects.get(pk=incident.pk)
    row["services"] = sorted(incident.services.values_list("slug", flat=True))
    row["tags"] = sorted(incident.tags.values_list("name", flat=True))
    row["responders"] = sorted(incident.responders.values_list("username", flat=True))
    row["timeline"] = list(TimelineEntry.objects.filter(incident=incident).values())
    row["article_uses"] = list(ArticleUse.objects.filter(incident=incident).values())
    row["postmortems"] = Postmortem.objects.filter(incident=incident).count()
    return row


def postmortem_snapshot(postmortem: Postmortem) -> dict[str, Any]:
    row = _row(postmortem)
    row["revisions"] = PostmortemRevision.objects.filter(postmortem=postmortem).count()
    row["reviews"] = list(Review.objects.filter(postmortem=postmortem).values())
    row["findings"] = list(Finding.objects.filter(postmortem=postmortem).values())
    row["action_items"] = list(ActionItem.objects.filter(postmortem=postmortem).values())
    return row
