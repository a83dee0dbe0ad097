"""Blameless lint: flag blame-oriented language in a postmortem, with a suggestion for each.

The rules are plain regular expressions, so every warning can be explained: the rule id says
which habit it caught, the phrase and offsets say where, the suggestion says how to reword it.
They follow the advice of blameless postmortem culture (Google SRE, Etsy's "Debriefing
Facilitation Guide"): describe what the system and the process allowed, not who slipped.

Deliberately narrow:
- "failed to" is flagged only with a person as its subject ("she failed to restart the pod"),
  never for systems ("the health check failed to connect", "the deploy failed to roll out").
- A capitalised word counts as a person only before verbs that machines do not do ("Bob forgot",
  "Bob failed to check"), because service names are capitalised too ("Postgres failed to start").
- Code spans and fenced code blocks are not linted: quoted logs and commands are evidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class LintWarning:
    rule: str
    phrase: str
    start: int
    end: int
    message: str
    suggestion: str


# The contract's name for it; a module-local name, it does not replace the builtin elsewhere.
Warning = LintWarning


@dataclass(frozen=True)
class Rule:
    id: str
    pattern: re.Pattern[str]
    message: str
    suggestion: str


# A person by pronoun, role or @mention (case-insensitive).
_PERSON = (
    r"(?i:@[\w][\w.-]*"
    r"|\b(?:he|she|they|you|i|someone|somebody|nobody|no\s+one)\b"
    r"|\b(?:the|our|an?|that|this)\s+(?:on-?call(?:\s+engineer)?|engineer|operator|developer|dev"
    r"|sre|sysadmin|admin(?:istrator)?|responder|reviewer|intern|new\s+hire|team\s+lead"
    r"|contractor|person|employee)\b)"
)
# A capitalised word that could be a first name; common sentence openers are not people.
_NOT_NAMES = (
    "The|This|That|These|Those|It|Its|There|Then|Than|We|Our|Us|They|He|She|You|When|After"
    "|Before|While|If|And|But|So|Also|Nothing|Everything|Something|Nobody|Someone|Everyone"
    "|Monitoring|Alerting|Traffic|Production|Staging|Nobody|No|Yes|Why|How|What|Which"
)
_NAME = rf"(?:\b(?!(?:{_NOT_NAMES})\b)[A-Z][a-z]+\b)"
_MENTION = r"(?:@[\w][\w.-]*)"

# Things only people do: a name before them is a person, not a service.
_HUMAN_VERBS = (
    r"(?:check|notice|verify|test|follow|read|review|escalate|communicate|tell|inform"
    r"|ask|double-check|realise|realize|look|pay\s+attention|understand|think|remember"
    r"|coordinate)"
)
_FAILURE_VERBS = (
    r"(?i:failed\s+to|forgot(?:\s+to)?|neglected(?:\s+to)?|missed|ignored|overlooked"
    r"|didn't|did\s+not|broke|caused|messed\s+up|screwed\s+up|dropped\s+the\s+ball)"
)
_NAME_FAILURE_VERBS = (
    r"(?:forgot(?:\s+to)?|neglected(?:\s+to)?|ignored|overlooked|broke|caused|messed\s+up"
    r"|screwed\s+up|dropped\s+the\s+ball"
    rf"|(?:failed\s+to|didn't|did\s+not)\s+{_HUMAN_VERBS})"
)


def _rule(rule_id: str, pattern: str, message: str, suggestion: str) -> Rule:
    return Rule(rule_id, re.compile(pattern), message, suggestion)


RULES: tuple[Rule, ...] = (
    _rule(
        "human-error",
        r"(?i)\b(?:human|operator|user|pilot|manual)\s+(?:error|mistake)s?\b",
        "“Human error” ends the inquiry where it should begin.",
        "Describe what made the action look right at the time, and what in the system or "
        "process let it cause harm.",
    ),
    _rule(
        "why-you",
        rf"(?i)\bwhy\s+(?:did|didn't|did\s+not|would|wouldn't)\s+(?:you|he|she|they|{_MENTION})\b"
        r"|(?i:\bwhat\s+were\s+(?:you|they)\s+thinking\b)",
        "“Why did you…” asks a person to defend themselves.",
        "Ask how instead: “How did the tools and information at hand make this look like the "
        "right step?”",
    ),
    _rule(
        "hindsight",
        r"(?i)\b(?:obviously|(?:it\s+was\s+)?obvious|of\s+course|should\s+have\s+known"
        r"|anyone\s+(?:would|could)\s+have\s+(?:known|seen|noticed))\b",
        "Hindsight: it was not obvious to the people there at the time.",
        "Describe what the people involved knew and saw at the time, and what would have made "
        "the risk visible.",
    ),
    _rule(
        "judgement",
        r"(?i)\b(?:careless(?:ly|ness)?|sloppy|sloppiness|lazy|laziness|negligen(?:t|ce)"
        r"|incompeten(?:t|ce)|stupid(?:ity)?|dumb|reckless(?:ly|ness)?|idiot(?:ic)?"
        r"|rookie\s+mistake|not\s+paying\s+attention|should\s+know\s+better)\b",
        "A judgement of character explains nothing about the system.",
        "Name the condition instead: what was hard to see, easy to get wrong, or missing a "
        "safeguard?",
    ),
    _rule(
        "should-have",
        rf"(?:{_PERSON}|{_NAME})\s+(?i:should(?:\s+not|n't)?\s+have|should've)\s+\w+",
        "Counterfactual: “should have” judges a person against what we know now.",
        "Describe what happened and why it made sense then; turn the gap into an action item "
        "or a safeguard.",
    ),
    _rule(
        "named-person",
        rf"{_MENTION}\s+{_FAILURE_VERBS}(?:\s+\w+)?|{_NAME}\s+{_NAME_FAILURE_VERBS}",
        "A named person is the subject of a failure.",
        "Make the system the subject: “the deploy ran without a canary”, not who ran it.",
    ),
    _rule(
        "person-failed",
        rf"{_PERSON}\s+{_FAILURE_VERBS}(?:\s+\w+)?",
        "A person is the subject of a failure.",
        "Make the system or the step the subject: “the pod was not restarted because the "
        "runbook did not cover this alert”.",
    ),
)
RULE_IDS = tuple(rule.id for rule in RULES)

_CODE = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)|`[^`\n]*`", re.DOTALL)


def _without_code(text: str) -> str:
    """The text with code blanked out, keeping every offset where it was."""
    return _CODE.sub(lambda match: re.sub(r"[^\n]", " ", match.group(0)), text)


def lint_text(text: str) -> list[LintWarning]:
    """Every blame-oriented phrase in `text`, in reading order.

    Where two rules match overlapping text, the rule listed first in RULES wins, so that a phrase
    is reported once.
    """
    if not text:
        return []
    searchable = _without_code(text)
    found: list[LintWarning] = []
    for rule in RULES:
        for match in rule.pattern.finditer(searchable):
            start, end = match.span()
            if any(start < other.end and other.start < end for other in found):
                continue
            found.append(
                LintWarning(
                    rule=rule.id,
                    phrase=text[start:end],
                    start=start,
                    end=end,
                    message=rule.message,
                    suggestion=rule.suggestion,
                )
            )
    return sorted(found, key=lambda warning: warning.start)


def lint_sections(sections: Mapping[str, str]) -> dict[str, list[LintWarning]]:
    """Warnings per section key; sections without warnings are left out."""
    warnings: dict[str, list[LintWarning]] = {}
    for key, text in sections.items():
        found = lint_text(text or "")
        if found:
            warnings[key] = found
    return warnings
