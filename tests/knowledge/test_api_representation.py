"""The article serializers build their answer directly; it must equal DRF's walk of the
declared fields (which also describe the schema), for every shape an article can take."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from knowledge.api.serializers import ArticleListItemSerializer, ArticleSerializer
from knowledge.models import Article
from knowledge.search import SearchHit
from tests.kbsite.factories import ServiceFactory, TagFactory, UserFactory
from tests.knowledge.factories import ArticleFactory, published_article


def loaded(article: Article) -> Article:
    return (
        Article.objects.select_related("team", "author", "owner")
        .prefetch_related("services", "tags")
        .get(pk=article.pk)
    )


@pytest.fixture
def articles(payments_team):
    full = published_article(
        title="Certificate expired on the gateway <b>",
        team=payments_team,
        services=[ServiceFactory(name="gateway"), ServiceFactory(name="checkout")],
        tags=[TagFactory(name="tls"), TagFactory(name="pki")],
        owner=UserFactory(username="owner-person"),
    )
    Article.objects.filter(pk=full.pk).update(last_reviewed_at=timezone.now() - timedelta(days=3))
    bare = ArticleFactory(team=None, owner=None, symptoms="", body="")
    Article.objects.filter(pk=bare.pk).update(review_due=None, rendered={})
    return [loaded(full), loaded(bare)]


@pytest.mark.django_db
def test_the_whole_article_equals_drfs_walk_of_the_declared_fields(articles):
    for article in articles:
        serializer = ArticleSerializer(article)
        assert serializer.data == serializer.declared_representation(article)
        assert list(serializer.data) == list(ArticleSerializer.Meta.fields)


@pytest.mark.django_db
def test_a_search_result_equals_drfs_walk_with_rank_and_snippet(articles):
    hits = {articles[0].pk: SearchHit(article=articles[0], rank=1.25, snippet="<mark>tls</mark>")}
    for article in articles:
        serializer = ArticleListItemSerializer(article, context={"hits": hits})
        assert serializer.data == serializer.declared_representation(article)
    first = ArticleListItemSerializer(articles[0], context={"hits": hits}).data
    assert (first["rank"], first["snippet"]) == (1.25, "<mark>tls</mark>")
    assert ArticleListItemSerializer(articles[1], context={"hits": hits}).data["rank"] is None
