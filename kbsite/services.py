"""Writes to the catalog, access records and notifications. Each one is atomic and validates
its input."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from kbsite.models import ApiToken, Heartbeat, Notification, Service, Tag, Team, TeamMembership
from kbsite.roles import Role

logger = logging.getLogger(__name__)


class CatalogError(ValueError):
    """Bad input to a catalog service; the message says what to fix."""


def team_get_or_create(*, name: str, description: str = "") -> Team:
    name = name.strip()
    if not name:
        raise CatalogError("A team needs a name.")
    team, _ = Team.objects.get_or_create(
        slug=slugify(name), defaults={"name": name, "description": description}
    )
    return team


def service_get_or_create(*, name: str, team: Team, description: str = "") -> Service:
    name = name.strip()
    if not name:
        raise CatalogError("A service needs a name.")
    service, _ = Service.objects.get_or_create(
        slug=slugify(name), defaults={"name": name, "team": team, "description": description}
    )
    return service


def tags_get_or_create(*, names: list[str]) -> list[Tag]:
    """Return the tags named, creating the missing ones. Names are matched case-insensitively."""
    tags: list[Tag] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if len(name) > 50:
            raise CatalogError(f"The tag {name[:20]!r}… is longer than 50 characters.")
        slug = slugify(name)
        if not slug:
            raise CatalogError(f"The tag {name!r} needs at least one letter or digit.")
        tag = Tag.objects.filter(slug=slug).first() or Tag.objects.create(name=name, slug=slug)
        if tag not in tags:
            tags.append(tag)
    return tags


def team_add_member(*, team: Team, user: User) -> TeamMembership:
    membership, _ = TeamMembership.objects.get_or_create(team=team, user=user)
    return membership


def user_grant_role(*, user: User, role: Role) -> None:
    group = Group.objects.get(name=role.value)
    user.groups.add(group)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # shown once, never stored


def api_token_issue(
    *,
    user: User,
    name: str,
    scope: str = ApiToken.Scope.READ_WRITE,
    expires_at: datetime | None = None,
) -> IssuedToken:
    """Create a token for `user` and return it with its key, which only this call ever sees."""
    name = name.strip()
    if not name:
        raise CatalogError("Give the token a name, so you know later what uses it.")
    if scope not in ApiToken.Scope.values:
        raise CatalogError(f"Scope must be one of: {', '.join(ApiToken.Scope.values)}.")
    if expires_at is not None and expires_at <= timezone.now():
        raise CatalogError("The expiry date must be in the future.")
    if not user.is_active:
        raise CatalogError("This user is deactivated and cannot hold API tokens.")
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[: ApiToken.PREFIX_LENGTH],
        key_hash=ApiToken.hash_key(key),
        scope=scope,
        expires_at=expires_at,
    )
    return IssuedToken(token=token, key=key)


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db()
    return token


@transaction.atomic
def heartbeat_record(*, source: str, worker: str = "") -> Heartbeat:
    return Heartbeat.objects.create(source=source[:50], worker=worker[:200])


_mail_state = threading.local()


@contextmanager
def emails_held_back() -> Iterator[None]:
    """Notifications made inside this block (in this thread) are kept in the app but not
    emailed: the demo data must not mail its made-up people, nor print mail to a terminal."""
    previous = getattr(_mail_state, "held", False)
    _mail_state.held = True
    try:
        yield
    finally:
        _mail_state.held = previous


def notification_send(
    *, user: User, text: str, url: str = "", email_subject: str | None = None
) -> Notification:
    """Leave an in-app notice for `user`; with `email_subject`, also email it once committed.

    The email goes only to people with an address, after the surrounding transaction commits, so
    a rolled-back change sends nothing. A failing mail server is logged and never undoes the
    notice. `url` is a site path; the email carries it as an absolute link.
    """
    notification = Notification.objects.create(user=user, text=text[:500], url=url[:500])
    if email_subject and user.email and not getattr(_mail_state, "held", False):
        address = user.email
        link = f"{settings.SITE_URL}{url}" if url.startswith("/") else url
        body = f"{text}\n\n{link}\n" if link else f"{text}\n"

        def deliver() -> None:
            try:
                send_mail(email_subject[:200], body, None, [address])
            except Exception:
                logger.exception("could not email notification %s", notification.pk)

        transaction.on_commit(deliver)
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of `user` read now; return how many changed.

    One conditional UPDATE, atomic on its own: repeating it changes nothing (returns 0), earlier
    read times are kept, and a notice arriving meanwhile is either marked or stays unread.
    """
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    return unread.update(read_at=timezone.now())
