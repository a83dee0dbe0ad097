"""Request examples for the articles API, shown on /api/docs/ and tried first by the contract
check. The names are those of the demo data (`manage.py seed_demo`)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

ARTICLE_CREATE = OpenApiExample(
    "A technical article",
    value={
        "title": "Checkout 503 after a deploy: the readiness probe",
        "knowledge_type": "technical",
        "symptoms": "Checkout answers 503 for some requests right after a deploy.",
        "cause": "The readiness probe passes before the database pool is ready.",
        "resolution": "Roll back, then make the probe run a query through the pool.",
        "team": "payments",
        "services": ["checkout"],
        "tags": ["deploy"],
    },
    request_only=True,
)
ARTICLE_CHANGE = OpenApiExample(
    "Change one field",
    value={
        "version": 2,
        "resolution": "Roll back with `kubectl rollout undo`.",
        "change_note": "Exact command",
    },
    request_only=True,
)
FEEDBACK = OpenApiExample(
    "Flag it outdated",
    value={"kind": "outdated", "comment": "Step 3 names a flag that was removed."},
    request_only=True,
)
REQUEST_CHANGES = OpenApiExample(
    "Ask for a change",
    value={"version": 4, "comment": "Say which dashboard shows the pool's size."},
    request_only=True,
)
