"""Reads of the catalog, access records and notifications that are more than a plain filter."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from kbsite.models import ApiToken, Heartbeat, Notification, Team


def user_teams(*, user: User) -> QuerySet[Team]:
    return Team.objects.filter(memberships__user=user).order_by("name")


def user_team_ids(*, user: User) -> set[int]:
    """Ids of the teams a user belongs to, cached on the user object for the request."""
    cached = getattr(user, "_kbsite_team_ids", None)
    if cached is None:
        cached = set(Team.objects.filter(memberships__user=user).values_list("id", flat=True))
        user._kbsite_team_ids = cached  # type: ignore[attr-defined]
    return set(cached)


def api_token_for_key(*, key: str) -> ApiToken | None:
    """The usable token with this key (not revoked, not expired, active user), or None."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=ApiToken.hash_key(key), user__is_active=True)
        .first()
    )
    if token is None or not token.is_usable(now=timezone.now()):
        return None
    return token


def heartbeat_latest() -> Heartbeat | None:
    return Heartbeat.objects.order_by("-recorded_at").first()


def notifications_for_user(*, user: User, limit: int) -> list[Notification]:
    """The newest `limit` notifications of `user`, read or not, newest first."""
    return list(Notification.objects.filter(user=user).order_by("-created_at", "-id")[:limit])


def notifications_unread_count(*, user: User) -> int:
    """How many notifications `user` has not read: one COUNT on the (user, read_at) index."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def people_for_suggestions() -> list[tuple[str, str]]:
    """Active people as (username, "Full Name (username)") for a form's type-ahead list; one
    query, alphabetical by username."""
    rows = User.objects.filter(is_active=True).order_by("username")
    return [
        (username, f"{f'{first} {last}'.strip()} ({username})" if (first or last) else username)
        for username, first, last in rows.values_list("username", "first_name", "last_name")
    ]
