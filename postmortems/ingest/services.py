"""Writes to alert integrations: create, rotate the secret, enable or disable, set PagerDuty's
signing secret, delete. Admins only; each raises a kbsite.errors refusal that says what to fix."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from kbsite.errors import InvalidInput, NotAllowed
from kbsite.models import Service, Team
from kbsite.roles import Role, user_has_role
from postmortems.models import AlertIntegration, AlertSource, Severity
from postmortems.services.common import choice_clean, text_clean

SECRET_PREFIX = "kbi_"  # noqa: S105 - a marker that makes a leaked secret recognisable
MAX_NAME_LENGTH = 100
MAX_SIGNING_SECRET_LENGTH = 200
MAX_DEFAULT_SERVICES = 20


@dataclass(frozen=True)
class IssuedIntegration:
    integration: AlertIntegration
    secret: str  # shown once, never stored


def _check_admin(user: Any) -> None:
    if not getattr(user, "is_authenticated", False) or not user_has_role(user, Role.ADMIN):
        raise NotAllowed("Only admins manage alert integrations.")


def _new_secret() -> tuple[str, str, str]:
    """(secret, its prefix for recognising it, its hash for storing)."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    return (
        secret,
        secret[: AlertIntegration.SECRET_PREFIX_LENGTH],
        AlertIntegration.hash_secret(secret),
    )


def _signing_secret_clean(value: str, *, source: str) -> str:
    value = text_clean(
        value,
        field="signing_secret",
        limit=MAX_SIGNING_SECRET_LENGTH,
        label="signing secret",
    )
    if value and source != AlertSource.PAGERDUTY:
        raise InvalidInput(
            "Only PagerDuty signs its webhooks: leave the signing secret empty.",
            field="signing_secret",
        )
    return value


def integration_create(
    *,
    user: Any,
    name: str,
    source: str,
    team: Team,
    default_severity: str = Severity.SEV3,
    default_services: Sequence[Service] = (),
    signing_secret: str = "",
) -> IssuedIntegration:
    """Create an integration and return it with its secret, which only this call ever sees.

    `source` is one of AlertSource; `team` owns the incidents it opens; `default_severity` and
    `default_services` apply when an alert names none kbsite knows. `signing_secret` is
    PagerDuty's, to verify X-PagerDuty-Signature (it can also be set later).
    """
    _check_admin(user)
    name = text_clean(name, field="name", limit=MAX_NAME_LENGTH, label="name", required=True)
    source = choice_clean(source, field="source", choices=AlertSource.values, label="source")
    severity = choice_clean(
        default_severity, field="default_severity", choices=Severity.values, label="severity"
    )
    if not isinstance(team, Team) or team.pk is None:
        raise InvalidInput("Choose the team that owns the incidents it opens.", field="team")
    services = list(dict.fromkeys(default_services))
    if len(services) > MAX_DEFAULT_SERVICES:
        raise InvalidInput(
            f"Choose at most {MAX_DEFAULT_SERVICES} default services.", field="default_services"
        )
    if any(not isinstance(service, Service) or service.pk is None for service in services):
        raise InvalidInput("Choose services from the catalog.", field="default_services")
    signing = _signing_secret_clean(signing_secret, source=source)
    secret, prefix, digest = _new_secret()
    with transaction.atomic():
        integration = AlertIntegration.objects.create(
            name=name,
            source=source,
            team=team,
            default_severity=severity,
            secret_prefix=prefix,
            secret_hash=digest,
            signing_secret=signing,
            created_by=user,
        )
        integration.default_services.set(services)
    return IssuedIntegration(integration=integration, secret=secret)


def integration_rotate_secret(*, integration: AlertIntegration, user: Any) -> IssuedIntegration:
    """Replace the secret at once: the old one stops working. The new one is returned once."""
    _check_admin(user)
    secret, prefix, digest = _new_secret()
    AlertIntegration.objects.filter(pk=integration.pk).update(
        secret_prefix=prefix, secret_hash=digest
    )
    integration.refresh_from_db()
    return IssuedIntegration(integration=integration, secret=secret)


def integration_set_enabled(
    *, integration: AlertIntegration, user: Any, enabled: bool
) -> AlertIntegration:
    """A disabled integration refuses deliveries (403) and logs them; nothing else changes."""
    _check_admin(user)
    AlertIntegration.objects.filter(pk=integration.pk).update(is_enabled=enabled)
    integration.refresh_from_db()
    return integration


def integration_set_signing_secret(
    *, integration: AlertIntegration, user: Any, signing_secret: str
) -> AlertIntegration:
    """Set PagerDuty's signing secret (empty: stop checking signatures)."""
    _check_admin(user)
    signing = _signing_secret_clean(signing_secret, source=integration.source)
    AlertIntegration.objects.filter(pk=integration.pk).update(signing_secret=signing)
    integration.refresh_from_db()
    return integration


def integration_delete(*, integration: AlertIntegration, user: Any) -> None:
    """Delete the integration and its payload log; the incidents it opened stay."""
    _check_admin(user)
    AlertIntegration.objects.filter(pk=integration.pk).delete()
