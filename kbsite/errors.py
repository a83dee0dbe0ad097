"""Domain errors shared by every app's services.

Services raise these; forms show their message, and the API's exception handler maps each kind to
one status code and the one JSON error shape. The message always says what to fix.
"""

from __future__ import annotations

from typing import Any


class DomainError(ValueError):
    """Base class: `message` for people, `code` for programs, optional `field` and `reasons`."""

    status_code = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        reasons: list[str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.reasons = list(reasons or [])
        if code:
            self.code = code


class InvalidInput(DomainError):
    """The input cannot be accepted (400); `field` names the offending field."""


class NotAllowed(DomainError):
    """The person is signed in but their role may not do this (403)."""

    status_code = 403
    code = "permission_denied"


class StateConflict(DomainError):
    """The action is not allowed in the object's current state (409); `reasons` lists why."""

    status_code = 409
    code = "conflict"


class StaleVersion(DomainError):
    """Someone saved a newer version first (412); `current` is the object as it is now."""

    status_code = 412
    code = "stale_version"

    def __init__(self, message: str, *, current: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.current = current
