"""The knowledge base as a zip download, for editors and admins: the articles they may read,
one markdown file each (knowledge.transfer.export)."""

from __future__ import annotations

import tempfile

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest
from django.utils import timezone
from django.views.decorators.http import require_GET

from knowledge.transfer.export import can_export, knowledge_export_zip

# Up to this size the zip is built in memory; a larger knowledge base spills to a temp file.
IN_MEMORY_BYTES = 8 * 1024 * 1024


@require_GET
def knowledge_export(request: HttpRequest) -> FileResponse:
    if not can_export(request.user):
        raise PermissionDenied("Only editors and admins can export the knowledge base.")
    spool = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)  # noqa: SIM115 - the response closes it
    knowledge_export_zip(user=request.user, stream=spool)
    spool.seek(0)
    name = f"knowledge-{timezone.localdate():%Y-%m-%d}.zip"
    return FileResponse(spool, as_attachment=True, filename=name, content_type="application/zip")
