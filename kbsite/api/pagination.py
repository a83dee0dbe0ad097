from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Field, Model
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request


class CursorPagination(pagination.CursorPagination):
    """Stable, constant-cost pages: `{"next", "previous", "results"}`, `?page_size=` up to 100.

    A cursor is opaque but comes from the client: the position it carries is checked against
    the ordering field before it reaches a query, so a forged one (`p=abc`, a NUL, a time out of
    range) is the same 404 "Invalid cursor" as any other bad cursor, never a database error.
    """

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-id"

    _model: type[Model] | None = None

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        self._model = getattr(queryset, "model", None)
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        cursor = super().decode_cursor(request)
        position = None if cursor is None else cursor.position
        if position is not None and not self._position_is_valid(str(position)):
            raise NotFound(self.invalid_cursor_message)
        return cursor

    def _position_is_valid(self, position: str) -> bool:
        if "\x00" in position:
            return False
        ordering = self.ordering if isinstance(self.ordering, list | tuple) else [self.ordering]
        name = str(ordering[0]).lstrip("-")
        try:
            field = self._model._meta.get_field(name) if self._model else None
        except FieldDoesNotExist:
            field = None
        if not isinstance(field, Field):  # an annotation or a relation: nothing to check
            return True
        try:
            value = field.to_python(position)
            field.run_validators(value)
            if isinstance(value, datetime) and value.tzinfo is not None:
                value.astimezone(UTC)  # the database compares in UTC: it must exist there
        except (ValidationError, ValueError, TypeError, OverflowError):
            return False
        return True
