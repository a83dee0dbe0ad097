"""What a webhook payload carries: plain values and lists of them, never objects."""

from __future__ import annotations

from datetime import UTC, datetime

from kbsite.webhooks.services import webhook_payload

MOMENT = datetime(2026, 5, 20, 7, 10, tzinfo=UTC)


def test_plain_values_and_lists_of_them_are_kept():
    payload = webhook_payload(
        event="kpis.recomputed",
        data={
            "periods": ["2026-04", "2026-05"],
            "scopes_count": 7,
            "run_id": None,
            "finished_at": "2026-05-20T07:10:00Z",
            "ratios": (0.5, 1),
        },
        occurred_at=MOMENT,
    )
    assert payload == {
        "event": "kpis.recomputed",
        "occurred_at": "2026-05-20T07:10:00Z",
        "data": {
            "periods": ["2026-04", "2026-05"],
            "scopes_count": 7,
            "run_id": None,
            "finished_at": "2026-05-20T07:10:00Z",
            "ratios": [0.5, 1],
        },
    }


def test_objects_and_lists_holding_them_are_left_out():
    payload = webhook_payload(
        event="kpis.recomputed",
        data={"run_id": 3, "owner": {"username": "rita"}, "rows": [{"id": 1}], "nested": [[1]]},
        occurred_at=MOMENT,
    )
    assert payload["data"] == {"run_id": 3}


def test_an_overdue_action_item_links_to_its_postmortem(settings):
    settings.SITE_URL = "https://kb.example.com"
    payload = webhook_payload(
        event="action_item.overdue",
        data={"action_item_id": 5, "postmortem_id": 2, "incident_id": 9, "due_date": "2026-05-19"},
        occurred_at=MOMENT,
    )
    assert payload["data"] == {
        "action_item_id": 5,
        "postmortem_id": 2,
        "incident_id": 9,
        "due_date": "2026-05-19",
        "web_url": "https://kb.example.com/postmortems/2/",
    }
