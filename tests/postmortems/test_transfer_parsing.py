"""Reading the parts of a postmortem file that are not section text, and which section a heading
names. Pure parsing: no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from postmortems.transfer.headings import heading_target, normalise, section_key_in
from postmortems.transfer.parts import parse_action_items, parse_findings, parse_timeline

DAY = date(2026, 3, 4)


def at(hour: int, minute: int, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("heading", "target"),
    [
        ("Summary", "summary"),
        ("Root Causes", "root_causes"),
        ("**Root cause & contributing factors:**", "root_causes"),
        ("Trigger", "trigger"),
        ("3. Lessons Learned", "lessons"),
        ("What went well", "went_well"),
        ("Where we got lucky", "lucky"),
        ("Action Items", "@action_items"),
        ("Timeline", "timeline"),
        ("Timeline (UTC)", "@timeline_entries"),
        ("Findings", "@findings"),
        ("What didn’t go well", "went_wrong"),
        ("Vendor correspondence", None),
    ],
)
def test_headings_map_to_sections_through_synonyms(heading, target):
    assert heading_target(heading) == target


def test_normalise_drops_emphasis_numbering_and_colons():
    assert normalise("  2) **Impact**:  ") == "impact"


def test_a_section_the_template_lacks_falls_back():
    keys = {"summary", "root_causes", "response", "lessons"}
    assert section_key_in("trigger", keys) == ("root_causes", True)
    assert section_key_in("resolution", keys) == ("response", True)
    assert section_key_in("summary", keys) == ("summary", False)
    assert section_key_in("went_well", keys) == (None, False)


def test_timeline_lines_in_the_usual_shapes():
    text = "\n".join(
        [
            "- 2026-03-04 10:02 UTC — Deploy starts.",
            "- **2026-03-04 10:04** (Detection) Alert fires",
            "* 2026-03-04T10:05:30Z: paged the database on-call",
            "- 2026-03-04 12:06 +02:00 - (Escalation) vendor called",
            "- 10:07 [resolution] errors stop",
            "- 10:08 (approx) someone checked the graph",
            "",
            "Narrative line that is not an entry.",
        ]
    )

    parsed = parse_timeline(text, default_day=DAY)

    assert [(e.occurred_at, e.kind, e.text) for e in parsed.entries] == [
        (at(10, 2), "action", "Deploy starts."),
        (at(10, 4), "detection", "Alert fires"),
        (at(10, 5) + timedelta(seconds=30), "action", "paged the database on-call"),
        (at(10, 6), "escalation", "vendor called"),
        (at(10, 7), "resolution", "errors stop"),
        (at(10, 8), "action", "(approx) someone checked the graph"),
    ]
    assert parsed.leftover_text == "Narrative line that is not an entry."


def test_a_date_line_sets_the_day_of_the_times_below_it():
    parsed = parse_timeline(
        "**2026-03-05** (all times UTC)\n\n- 23:58 Alert\n\n2026-03-06\n\n- 00:03 Rolled back",
        default_day=DAY,
    )

    assert [e.occurred_at for e in parsed.entries] == [
        at(23, 58, date(2026, 3, 5)),
        at(0, 3, date(2026, 3, 6)),
    ]


def test_timeline_tables_with_a_time_column():
    text = (
        "| Time (UTC) | Type | Event |\n| --- | --- | --- |\n"
        "| 2026-03-04 10:02 | detection | Alert \\| page |\n| soon | | Unclear |\n"
    )

    parsed = parse_timeline(text, default_day=DAY)

    assert [(e.occurred_at, e.kind, e.text) for e in parsed.entries] == [
        (at(10, 2), "detection", "Alert | page")
    ]
    assert parsed.leftover_text == "| soon |  | Unclear |"


def test_a_time_with_an_offset_is_stored_in_utc():
    [entry] = parse_timeline("- 2026-03-04 12:02 +0200 Paged", default_day=DAY).entries
    assert entry.occurred_at == datetime(2026, 3, 4, 12, 2, tzinfo=timezone(timedelta(hours=2)))
    assert entry.occurred_at.utcoffset() == timedelta(0)


def test_findings_with_labels_outcomes_and_continuations():
    text = "\n".join(
        [
            "1. **Root cause**: Probe on the wrong port",
            "   - Knowledge: linked to [Readiness probes](https://kb.example.com/knowledge/7-readiness/)",
            "2. **Detection gap:** Canary ignored readiness",
            "   and nobody noticed for a week",
            "   - Knowledge: spawned an article you cannot see",
            "3. What worked: The rollback",
            "   - Knowledge: nothing to capture — In the runbook already.",
            "- A finding without a label",
            "_No findings recorded._",
        ]
    )

    parsed = parse_findings(text)

    assert [
        (f.text, f.kind, f.outcome, f.article_url, f.no_article_reason) for f in parsed.findings
    ] == [
        (
            "Probe on the wrong port",
            "root_cause",
            "linked",
            "https://kb.example.com/knowledge/7-readiness/",
            "",
        ),
        (
            "Canary ignored readiness\nand nobody noticed for a week",
            "detection_gap",
            "hidden",
            "",
            "",
        ),
        ("The rollback", "what_worked", "nothing_to_capture", "", "In the runbook already."),
        ("A finding without a label", "contributing_factor", "", "", ""),
    ]
    assert parsed.leftover == []


def test_action_items_from_a_table_with_any_column_order():
    text = (
        "| Owner | Action Item | Due | Priority | Status | Bug |\n|---|---|---|---|---|---|\n"
        "| @rob | Alert on drops | 2026-03-20 | high | In progress "
        "| [OPS-1](https://t.example/1) |\n"
        "| — | [Lint ports](https://t.example/2) | someday | urgent | Won’t do | |\n"
    )

    parsed = parse_action_items(text)

    assert [
        (i.title, i.owner, i.due_date, i.priority, i.status, i.tracker_url) for i in parsed.items
    ] == [
        ("Alert on drops", "rob", date(2026, 3, 20), "p1", "in_progress", "https://t.example/1"),
        ("Lint ports", "", None, "p2", "wont_do", "https://t.example/2"),
    ]
    assert parsed.warnings == [
        "Action item “Lint ports”: the due date 'someday' is not a date like 2026-04-01; the "
        "usual due date for its priority was used.",
        "Action item “Lint ports”: unknown priority 'urgent'; P2 was used.",
    ]


def test_action_items_from_a_checklist_and_text_left_over():
    parsed = parse_action_items(
        "We agreed on:\n\n- [ ] Add the alert\n- [x] Roll back\n- Write it up"
    )

    assert [(i.title, i.status) for i in parsed.items] == [
        ("Add the alert", "open"),
        ("Roll back", "done"),
        ("Write it up", "open"),
    ]
    assert parsed.leftover_text == "We agreed on:"
