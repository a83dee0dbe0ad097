"""The blameless lint: which phrases it flags, with which rule and suggestion, and which not."""

from __future__ import annotations

import pytest

from postmortems.blameless import RULES, lint_sections, lint_text

SUGGESTIONS = {rule.id: rule.suggestion for rule in RULES}

FLAGGED = [
    ("human error", "human-error", "human error"),
    ("The outage was caused by human error.", "human-error", "human error"),
    ("Bob should have checked", "should-have", "Bob should have checked"),
    ("she failed to restart the pod", "person-failed", "she failed to restart"),
    ("the engineer forgot", "person-failed", "the engineer forgot"),
    ("careless", "judgement", "careless"),
    ("obviously", "hindsight", "obviously"),
    ("why did you", "why-you", "why did you"),
    ("@dave broke prod", "named-person", "@dave broke prod"),
    ("Bob failed to check the dashboard", "named-person", "Bob failed to check"),
    ("The on-call engineer missed the page.", "person-failed", "The on-call engineer missed the"),
    ("It was a rookie mistake.", "judgement", "rookie mistake"),
    ("They should've known better", "should-have", "They should've known"),
]

NOT_FLAGGED = [
    "the health check failed to connect",
    "the deploy failed to roll out",
    "we should add an alert",
    "the service failed over",
    "Postgres failed to start after the upgrade",
    "The alert should have fired at 10:05 but the threshold was too high.",
    "Checkout failed to respond within the 2 s timeout.",
    "Quoted log line: `human error: retry` and\n```\nobviously broken config\n```",
]


@pytest.mark.parametrize(("text", "rule", "phrase"), FLAGGED)
def test_blame_language_is_flagged_with_rule_and_suggestion(text, rule, phrase):
    warnings = lint_text(text)

    assert [(warning.rule, warning.phrase) for warning in warnings] == [(rule, phrase)]
    warning = warnings[0]
    assert text[warning.start : warning.end] == phrase
    assert warning.suggestion == SUGGESTIONS[rule]
    assert warning.message


@pytest.mark.parametrize("text", NOT_FLAGGED)
def test_systems_failing_and_plans_are_not_flagged(text):
    assert lint_text(text) == []


def test_exact_suggestions_per_rule():
    assert SUGGESTIONS == {
        "human-error": (
            "Describe what made the action look right at the time, and what in the system or "
            "process let it cause harm."
        ),
        "why-you": (
            "Ask how instead: “How did the tools and information at hand make this look like "
            "the right step?”"
        ),
        "hindsight": (
            "Describe what the people involved knew and saw at the time, and what would have "
            "made the risk visible."
        ),
        "judgement": (
            "Name the condition instead: what was hard to see, easy to get wrong, or missing a "
            "safeguard?"
        ),
        "should-have": (
            "Describe what happened and why it made sense then; turn the gap into an action "
            "item or a safeguard."
        ),
        "named-person": (
            "Make the system the subject: “the deploy ran without a canary”, not who ran it."
        ),
        "person-failed": (
            "Make the system or the step the subject: “the pod was not restarted because the "
            "runbook did not cover this alert”."
        ),
    }


def test_several_warnings_come_in_reading_order_without_overlaps():
    text = "They failed to notice; obviously a human error. Why did you deploy on Friday?"

    warnings = lint_text(text)

    assert [(w.rule, w.phrase, w.start) for w in warnings] == [
        ("person-failed", "They failed to notice", 0),
        ("hindsight", "obviously", 23),
        ("human-error", "human error", 35),
        ("why-you", "Why did you", 48),
    ]


def test_overlapping_matches_report_the_phrase_once():
    # "should have known" is both hindsight and a counterfactual: reported once, as hindsight.
    assert [(w.rule, w.phrase) for w in lint_text("she should have known")] == [
        ("hindsight", "should have known")
    ]


def test_lint_sections_keeps_only_sections_with_warnings():
    result = lint_sections(
        {"summary": "Careless deploy.", "impact": "2,300 checkouts failed.", "lessons": ""}
    )

    assert list(result) == ["summary"]
    assert [(w.rule, w.phrase) for w in result["summary"]] == [("judgement", "Careless")]


def test_empty_text_has_no_warnings():
    assert lint_text("") == []
    assert lint_sections({}) == {}
