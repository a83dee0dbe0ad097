"""Word-level revision diffs: exact markup, escaped text, and every field in reading order."""

from __future__ import annotations

import time

from knowledge.diff import FIELD_LABELS, FieldDiff, diff_snapshots, diff_text

SNAPSHOT = {
    "title": "Checkout 503 after deploy",
    "knowledge_type": "technical",
    "symptoms": "Checkout answers 503.",
    "environment": "",
    "cause": "Readiness probe too lax.",
    "resolution": "Roll back.\nThen fix the probe.",
    "prevention": "",
    "body": "",
    "team": "payments",
    "services": ["checkout"],
    "tags": ["deploy"],
}


def test_unchanged_text_is_only_escaped():
    assert diff_text("a <b> & c", "a <b> & c") == "a &lt;b&gt; &amp; c"


def test_a_replaced_word_is_deleted_and_inserted():
    assert diff_text("roll back the deploy", "roll forward the deploy") == (
        "roll <del>back</del><ins>forward</ins> the deploy"
    )


def test_added_and_removed_text():
    assert diff_text("", "new text") == "<ins>new text</ins>"
    assert diff_text("old text", "") == "<del>old text</del>"
    assert diff_text("a c", "a b c") == "a <ins>b </ins>c"


def test_hostile_text_is_escaped_inside_the_markup():
    assert diff_text("safe", '<script>alert("x")</script>') == (
        "<del>safe</del><ins>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</ins>"
    )


def test_only_changed_lines_are_diffed_word_by_word():
    old = "line one\nline two\nline three\n"
    new = "line one\nline 2\nline three\n"
    assert diff_text(old, new) == "line one\nline <del>two</del><ins>2</ins>\nline three\n"


def test_a_one_word_edit_in_a_long_runbook_is_fast():
    old = "\n".join(f"Step {n}: check the pool on replica {n}." for n in range(20_000))
    new = old.replace("replica 10000.", "replica ten-thousand.")
    started = time.perf_counter()
    html = diff_text(old, new)
    assert "<del>10000.</del><ins>ten-thousand.</ins>" in html
    assert time.perf_counter() - started < 2


def test_snapshots_give_one_diff_per_field_in_reading_order():
    new = SNAPSHOT | {"cause": "Readiness probe far too lax.", "tags": ["deploy", "rollback"]}
    diffs = diff_snapshots(SNAPSHOT, new)
    assert [d.field for d in diffs] == list(FIELD_LABELS)
    assert [d.field for d in diffs if d.changed] == ["cause", "tags"]
    assert diffs[4] == FieldDiff(
        field="cause",
        label="Cause",
        html="Readiness probe <ins>far </ins>too lax.",
        changed=True,
    )
    assert diffs[10].html == "deploy<ins>, rollback</ins>"
    assert diffs[1].html == "Technical: a system-specific fix"


def test_team_removed_and_missing_keys_read_as_empty():
    diffs = {d.field: d for d in diff_snapshots(SNAPSHOT, {"title": SNAPSHOT["title"]})}
    assert diffs["team"].html == "<del>payments</del>"
    assert diffs["title"].changed is False
    assert diffs["knowledge_type"].html == "<del>Technical: a system-specific fix</del>"
