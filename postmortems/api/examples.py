"""Request examples for the incidents and postmortems API, shown on /api/docs/ and tried first
by the contract check. The names are those of the demo data (`manage.py seed_demo`)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample


def request_example(name: str, value: dict[str, object]) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True)


INCIDENT_CREATE = request_example(
    "Open an incident",
    {
        "title": "Checkout returns 503 after a deploy",
        "summary": "Checkout answered **503** to part of the traffic after the 10:02 deploy.",
        "severity": "sev2",
        "team": "payments",
        "services": ["checkout"],
        "tags": ["deploy"],
        "started_at": "2026-03-02T10:00:00Z",
        "detected_at": "2026-03-02T10:04:00Z",
        "commander": "rita",
        "responders": ["rob"],
    },
)
INCIDENT_RESOLVE = request_example(
    "Resolve it", {"version": 3, "status": "resolved", "resolved_at": "2026-03-02T11:30:00Z"}
)
TIMELINE_ENTRY = request_example(
    "A timeline entry",
    {
        "occurred_at": "2026-03-02T10:04:00Z",
        "kind": "detection",
        "text": "The checkout error-rate alert fired.",
    },
)
ARTICLE_USE = request_example(
    "An article that helped", {"article": 1, "helped": True, "minutes_saved": 30}
)
POSTMORTEM_CREATE = request_example("Start a postmortem", {"incident": 1})
POSTMORTEM_SECTIONS = request_example(
    "Save a section",
    {
        "version": 2,
        "sections": {"summary": "A release moved traffic to pods before their pool was ready."},
        "change_note": "Summary drafted",
    },
)
FINDING_SPAWN = request_example(
    "A finding that spawns an article",
    {
        "text": "The readiness probe answered before the connection pool was ready.",
        "kind": "root_cause",
        "spawn_article": True,
    },
)
ACTION_ITEM = request_example(
    "An action item",
    {
        "title": "Make the readiness probe exercise the connection pool",
        "owner": "rita",
        "priority": "p1",
        "tracker_url": "https://tracker.example.com/OPS-12",
    },
)
PUBLISH = request_example("Publish despite warnings", {"version": 5, "acknowledge_warnings": True})
