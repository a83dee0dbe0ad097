"""The knowledge demo seeder: realistic articles in every state, and idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from knowledge.demo import seed_knowledge
from knowledge.demo_articles import ARTICLES
from knowledge.models import Article, ArticleFeedback, ArticleRevision

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_articles_in_every_state():
    out = seed()
    assert f"knowledge: {len(ARTICLES)} articles created" in out
    # Other apps' seeders may add articles of their own; these are the knowledge demo's.
    demo = Article.objects.filter(title__in=[a.title for a in ARTICLES])
    assert demo.count() == len(ARTICLES)
    assert sorted(set(demo.values_list("state", flat=True))) == ["draft", "in_review", "published"]
    assert demo.filter(state="published").count() == len(ARTICLES) - 2
    assert demo.filter(open_flags=1).count() == 1
    overdue = demo.get(review_due__lt=timezone.localdate())
    assert overdue.title == "Redis cache stampede after a cache flush"
    assert ArticleRevision.objects.filter(article__in=demo).count() == len(ARTICLES)
    rollback = Article.objects.get(slug="rolling-back-a-production-deploy")
    assert (rollback.helpful_count, rollback.author.username) == (4, "maya")
    assert '<h2 id="when-not-to-roll-back">' in rollback.rendered["body"]


def test_seed_demo_twice_changes_nothing():
    seed()
    first = list(Article.objects.order_by("pk").values("pk", "version", "state", "helpful_count"))
    feedback = ArticleFeedback.objects.count()
    out = seed()
    assert "knowledge: 0 articles created" in out
    assert list(
        Article.objects.order_by("pk").values("pk", "version", "state", "helpful_count")
    ) == (first)
    assert ArticleFeedback.objects.count() == feedback


def test_articles_whose_author_is_missing_are_skipped():
    said: list[str] = []
    get_user_model().objects.create_user("erin")
    seed_knowledge(said.append)
    erin_articles = sum(1 for demo in ARTICLES if demo.author == "erin")
    assert Article.objects.count() == erin_articles
    assert said == [
        f"knowledge: {erin_articles} articles created, {len(ARTICLES)} in the demo, "
        f"{len(ARTICLES) - erin_articles} skipped for missing authors"
    ]
