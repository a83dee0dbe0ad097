"""Template context every page shares."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from kbsite.roles import Role, user_has_role
from kbsite.selectors import notifications_unread_count


def notifications(request: HttpRequest) -> dict[str, Any]:
    """`notifications_unread` for the user menu, for signed-in users only.

    Lazy, so the COUNT runs once per rendered page and only when a template shows it (not for
    partials or pages without the menu).
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "notifications_unread": SimpleLazyObject(lambda: notifications_unread_count(user=user)),
        # For admin-only links; the roles are read once per request and shared with the views.
        "user_is_admin": SimpleLazyObject(lambda: user_has_role(user, Role.ADMIN)),
    }
