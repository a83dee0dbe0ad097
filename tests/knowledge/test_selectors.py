"""Knowledge reads: visibility, filters, sorting, diffs, and query counts that do not grow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from kbsite.errors import InvalidInput
from knowledge.models import ArticleRevision, ArticleState, KnowledgeType, SearchGap
from knowledge.selectors import (
    SearchFilters,
    article_events,
    article_get_for_user,
    article_list_for_user,
    article_revisions,
    review_queue,
    revision_pair_diff,
    search_gaps,
)
from knowledge.services import ArticleContent, article_update
from tests.kbsite.factories import ServiceFactory, TeamFactory
from tests.knowledge.factories import (
    ArticleEventFactory,
    ArticleFactory,
    ArticleVideoLinkFactory,
    attachment_for,
    in_review_article,
    overdue_article,
    published_article,
)


def fresh_user(user):
    """The same person without the per-request role and team caches."""
    return type(user).objects.get(pk=user.pk)


def test_get_for_user_loads_the_page_in_fixed_queries(
    responder, payments_team, django_assert_num_queries
):
    article = ArticleFactory(author=responder, team=payments_team, tags=["tls", "dns"])
    article.services.set([ServiceFactory(team=payments_team), ServiceFactory(team=payments_team)])
    attachment_for(article)
    ArticleVideoLinkFactory(article=article)
    user = fresh_user(responder)

    # roles, teams, the article with its team/author/owner, then services, tags,
    # attachments and video links: 7, however many of each there are.
    with django_assert_num_queries(7):
        loaded = article_get_for_user(pk=article.pk, user=user)
        assert loaded.team.slug == "payments"
        assert (loaded.author.username, loaded.owner) == ("rita", None)
        assert sorted(t.name for t in loaded.tags.all()) == ["dns", "tls"]
        assert len(loaded.services.all()) == 2
        assert len(loaded.attachments.all()) == 1
        assert len(loaded.video_links.all()) == 1


def test_get_for_user_hides_drafts_from_outsiders(responder, outsider, reviewer):
    draft = ArticleFactory(author=responder)
    with pytest.raises(Http404):
        article_get_for_user(pk=draft.pk, user=outsider)
    assert article_get_for_user(pk=draft.pk, user=reviewer) == draft
    published = published_article(author=responder)
    assert article_get_for_user(pk=published.pk, user=outsider) == published


def test_get_for_user_raises_404_for_an_unknown_id(responder):
    with pytest.raises(Http404):
        article_get_for_user(pk=987654, user=responder)


def test_list_shows_visible_live_articles_newest_first(responder, outsider):
    old = published_article(author=responder, title="Old")
    new = published_article(author=responder, title="New")
    draft = ArticleFactory(author=responder, title="Draft")
    ArticleFactory(author=responder, state=ArticleState.ARCHIVED, title="Gone")
    old.updated_at = timezone.now() - timedelta(days=3)
    type(old).objects.filter(pk=old.pk).update(updated_at=old.updated_at)

    assert list(article_list_for_user(user=outsider)) == [new, old]
    assert list(article_list_for_user(user=responder)) == [draft, new, old]
    archived = article_list_for_user(user=outsider, filters=SearchFilters(state="archived"))
    assert [a.title for a in archived] == ["Gone"]


def test_list_filters_and_sorts(responder, payments_team):
    search_team = TeamFactory(name="Search")
    indexer = ServiceFactory(name="indexer", team=search_team)
    lag = published_article(title="Indexer lag", team=search_team, tags=["queue"])
    lag.services.set([indexer])
    process = published_article(title="Escalation", knowledge_type=KnowledgeType.PROCESS)
    type(process).objects.filter(pk=process.pk).update(helpful_count=5)
    published_article(title="Another", team=payments_team)

    def titles(**kwargs):
        return [a.title for a in article_list_for_user(user=responder, **kwargs)]

    assert titles(filters=SearchFilters(service="indexer")) == ["Indexer lag"]
    assert titles(filters=SearchFilters(tag="queue")) == ["Indexer lag"]
    assert titles(filters=SearchFilters(team="search")) == ["Indexer lag"]
    assert titles(filters=SearchFilters(knowledge_type="process")) == ["Escalation"]
    assert titles(sort="title") == ["Another", "Escalation", "Indexer lag"]
    assert titles(sort="helpful")[0] == "Escalation"


def test_list_refuses_an_unknown_sort(responder):
    with pytest.raises(InvalidInput) as refused:
        article_list_for_user(user=responder, sort="random")
    assert refused.value.field == "sort"


def test_list_costs_the_same_queries_for_more_rows(responder, django_assert_num_queries):
    for n in range(3):
        published_article(title=f"A{n}", tags=["tls"]).services.set([ServiceFactory()])
    user = fresh_user(responder)

    def read() -> None:
        for article in article_list_for_user(user=user):
            _ = (article.team, article.author.username, list(article.tags.all()))
            _ = list(article.services.all())

    # roles, teams, the articles, their services, their tags
    with django_assert_num_queries(5):
        read()
    for n in range(10):
        published_article(title=f"B{n}", tags=["dns"]).services.set([ServiceFactory()])
    user = fresh_user(responder)
    with django_assert_num_queries(5):
        read()


def test_review_queue_sorts_what_needs_attention(reviewer, responder):
    today = timezone.localdate()
    waiting = in_review_article(author=responder, title="Waiting")
    flagged = published_article(author=responder, title="Flagged")
    type(flagged).objects.filter(pk=flagged.pk).update(open_flags=2)
    late = overdue_article(author=responder, title="Late", days_overdue=30)
    later = overdue_article(author=responder, title="Later", days_overdue=3)
    published_article(author=responder, title="Fine")

    queue = review_queue(user=reviewer, today=today)

    assert list(queue.in_review) == [waiting]
    assert list(queue.flagged) == [flagged]
    assert list(queue.overdue) == [late, later]
    assert queue.is_empty is False


def test_review_queue_hides_what_the_person_cannot_see(responder, outsider):
    in_review_article(author=responder)
    queue = review_queue(user=outsider)
    assert list(queue.in_review) == []


def test_review_queue_costs_fixed_queries(reviewer, responder, django_assert_num_queries):
    for n in range(4):
        in_review_article(author=responder, title=f"Wait {n}")
        overdue_article(author=responder, title=f"Late {n}")
    user = fresh_user(reviewer)

    # roles, then one query per list, with team, author and owner joined in
    with django_assert_num_queries(4):
        queue = review_queue(user=user)
        for article in [*queue.in_review, *queue.flagged, *queue.overdue]:
            _ = (article.author.username, article.team, article.owner)


def test_revisions_and_events_come_newest_first_with_people(responder, editor):
    article = ArticleFactory(author=responder, title="T")
    article_update(
        article=article,
        editor=editor,
        content=ArticleContent(title="T2", knowledge_type="technical"),
        expected_version=1,
    )
    ArticleEventFactory(article=article, actor=editor, kind="submitted")
    assert [(r.number, r.editor.username) for r in article_revisions(article=article)] == [
        (2, "erin"),
        (1, "rita"),
    ]
    assert [(e.kind, e.actor.username) for e in article_events(article=article)] == [
        ("submitted", "erin")
    ]


def test_revision_pair_diff_compares_two_revisions(responder):
    article = ArticleFactory(author=responder, title="Pool exhaustion")
    ArticleRevision.objects.create(
        article=article,
        number=2,
        editor=responder,
        snapshot=ArticleRevision.objects.get(article=article).snapshot
        | {"title": "Connection pool exhaustion"},
    )
    diffs = revision_pair_diff(article=article, from_number=1, to_number=2)
    assert [(d.field, d.html) for d in diffs if d.changed] == [
        ("title", "<del>Pool</del><ins>Connection pool</ins> exhaustion")
    ]
    with pytest.raises(Http404):
        revision_pair_diff(article=article, from_number=1, to_number=3)


def test_search_gaps_most_frequent_first_without_dismissed(db):
    SearchGap.objects.create(normalized_query="a", example_query="A", count=2)
    SearchGap.objects.create(normalized_query="b", example_query="B", count=9)
    SearchGap.objects.create(
        normalized_query="c", example_query="C", count=50, dismissed_at=timezone.now()
    )
    assert [g.example_query for g in search_gaps()] == ["B", "A"]
    assert [g.example_query for g in search_gaps(limit=1)] == ["B"]
