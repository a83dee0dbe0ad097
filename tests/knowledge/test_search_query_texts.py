"""The tsquery texts PostgreSQL search builds from a parsed query and its words' parsed forms."""

from __future__ import annotations

from knowledge.search.postgres import QueryTexts
from knowledge.search.query import ParsedQuery

TEXTS = {
    "certficate": "",  # no article holds it, and PostgreSQL's parser leaves nothing odd out
    "certificate": "'certif'",
    "expired": "'expir'",
    "the": "",  # a word PostgreSQL's dictionary ignores
    "connection pool": "'connect' <-> 'pool'",
    "kubernetes": "'kubernet'",
}


def test_words_are_or_ed_corrections_join_their_word_and_phrases_are_required():
    parsed = ParsedQuery(
        text='certficate expired the "connection pool" -kubernetes',
        words=("certficate", "expired", "the"),
        phrases=("connection pool",),
        excluded=("kubernetes",),
        corrections={"certficate": "certificate"},
    )
    texts = QueryTexts.of(parsed, {**TEXTS, "certficate": "'certfic'"})

    assert texts.words == ("(('certfic') | ('certif'))", "(('expir'))")
    assert texts.any_word() == (
        "((('certfic') | ('certif')) | (('expir'))) & ((('connect' <-> 'pool'))) & !(('kubernet'))"
    )
    assert texts.every_word() == (
        "(('certfic') | ('certif')) & (('expir')) & (('connect' <-> 'pool')) & !(('kubernet'))"
    )
    assert texts.highlighted() == (
        "(('certfic') | ('certif')) | (('expir')) | (('connect' <-> 'pool'))"
    )


def test_a_query_of_ignored_words_has_nothing_to_search():
    texts = QueryTexts.of(ParsedQuery(text="the", words=("the",)), TEXTS)

    assert texts.words == ()
    assert texts.any_word() == ""


def test_a_misspelled_word_alone_is_searched_as_its_correction():
    parsed = ParsedQuery(
        text="certficate", words=("certficate",), corrections={"certficate": "certificate"}
    )

    assert QueryTexts.of(parsed, TEXTS).any_word() == "((('certif')))"
