"""Roles are Django groups, created by a data migration (kbsite/migrations/0002_roles.py)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Role(StrEnum):
    RESPONDER = "responder"
    REVIEWER = "reviewer"
    EDITOR = "editor"
    MANAGER = "manager"
    ADMIN = "admin"


ROLE_DESCRIPTIONS = {
    Role.RESPONDER: "creates incidents and writes the postmortems they take part in",
    Role.REVIEWER: "approves postmortems or asks for changes, publishes articles",
    Role.EDITOR: "edits and publishes any knowledge article",
    Role.MANAGER: "reads the KPI dashboard and can recompute it",
    Role.ADMIN: "everything, plus templates, the catalog and integrations",
}


def user_roles(user: Any) -> set[str]:
    """The role names a user holds. Superusers hold every role."""
    if not getattr(user, "is_authenticated", False):
        return set()
    if user.is_superuser:
        return {role.value for role in Role}
    cached = getattr(user, "_kbsite_roles", None)
    if cached is None:
        names = user.groups.filter(name__in=[role.value for role in Role])
        cached = set(names.values_list("name", flat=True))
        user._kbsite_roles = cached
    return set(cached)


def user_has_role(user: Any, *roles: Role) -> bool:
    """True when the user holds any of `roles`; admins hold them all."""
    held = user_roles(user)
    return Role.ADMIN.value in held or any(role.value in held for role in roles)
